"""Identity hygiene of the embedded identity service (issue 21, items 10, 11
and 13), against the real vmctl-api daemon on loopback.

Every test sends its failed logins from its own loopback address
(127.0.0.N): the per-source throttle of one test must not spill into the
next, nor into the cloud fixture's own token requests (from 127.0.0.1).
"""

import http.client
import json
import statistics
import time
import uuid

import pytest

LOCKOUT_ATTEMPTS = 3
LOCKOUT_SECONDS = 4
BURST = 6
INTERVAL = 2


@pytest.fixture(scope="module")
def cloud(cloud_factory):
    return cloud_factory("hygiene", computes=1, auth="vmctl", conf_overrides={"identity": {
        # A real cost (the fixture's default 4 makes every check ~1 ms).
        "password_hash_rounds": 10,
        "lockout_failure_attempts": LOCKOUT_ATTEMPTS,
        "lockout_duration": LOCKOUT_SECONDS,
        "auth_failure_burst": BURST,
        "auth_failure_interval": INTERVAL}})


def _auth(name, password, project="admin"):
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}


def _request(cloud, source, method, path, body=None, headers=None):
    """(status, headers, body bytes) of one request sent from ``source``."""
    conn = http.client.HTTPConnection("127.0.0.1", cloud.api_port, timeout=30,
                                      source_address=(source, 0))
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data,
                     headers=dict({"Content-Type": "application/json"}, **(headers or {})))
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def _login(cloud, source, name, password, project="admin"):
    return _request(cloud, source, "POST", "/identity/v3/auth/tokens",
                    _auth(name, password, project))


def test_unknown_and_known_users_fail_in_the_same_time(cloud):
    cloud.add_user("timing", "proj-timing", roles=["member"])

    def median(name, source):
        times = []
        for _ in range(5):
            started = time.monotonic()
            assert _login(cloud, source, name, "wrong-password")[0] == 401
            times.append(time.monotonic() - started)
        return statistics.median(times)

    known = median("timing", "127.0.0.21")
    unknown = median("nobody-%s" % uuid.uuid4().hex[:8], "127.0.0.22")
    # Before: ~60 ms against ~3 ms (no hash checked for an unknown name).
    assert unknown > known * 0.5, (known, unknown)


def test_lockout_after_failures_refuses_even_the_right_password(cloud):
    user = cloud.add_user("lockme", "proj-lock", roles=["member"])
    source = "127.0.0.31"
    for _ in range(LOCKOUT_ATTEMPTS):
        assert _login(cloud, source, "lockme", "wrong", "proj-lock")[0] == 401
    status, _, body = _login(cloud, source, "lockme", user["password"], "proj-lock")
    assert status == 401
    assert b"locked" not in body  # the same answer as a wrong password
    time.sleep(LOCKOUT_SECONDS + 0.5)
    assert _login(cloud, source, "lockme", user["password"], "proj-lock")[0] == 201
    # A success resets the count: one more failure does not lock again.
    assert _login(cloud, source, "lockme", "wrong", "proj-lock")[0] == 401
    assert _login(cloud, source, "lockme", user["password"], "proj-lock")[0] == 201


def test_a_source_that_keeps_failing_is_throttled_with_retry_after(cloud):
    source = "127.0.0.41"
    for _ in range(BURST):
        assert _login(cloud, source, "ghost", "wrong")[0] == 401
    status, headers, _ = _login(cloud, source, "admin", cloud.admin_password)
    assert status == 429
    wait = int(headers["Retry-After"])
    assert 1 <= wait <= INTERVAL
    # Another source is not affected.
    assert _login(cloud, "127.0.0.42", "admin", cloud.admin_password)[0] == 201
    time.sleep(wait + 0.2)
    assert _login(cloud, source, "admin", cloud.admin_password)[0] == 201


def test_a_failed_login_never_logs_the_typed_name(cloud):
    typed = "Secret-%s" % uuid.uuid4().hex  # users type passwords into the name field
    assert _login(cloud, "127.0.0.51", typed, "x")[0] == 401
    assert _login(cloud, "127.0.0.51", "admin", typed)[0] == 401
    time.sleep(0.5)
    with open(cloud.log_path("api"), "rb") as log:
        assert typed.encode() not in log.read()


def test_links_never_come_from_the_host_header(cloud):
    evil = {"Host": "evil.example:666"}
    status, headers, _ = _request(cloud, "127.0.0.61", "GET", "/v2.1/servers", headers=evil)
    assert status == 401
    own = "http://127.0.0.1:%d" % cloud.api_port
    assert headers["WWW-Authenticate"] == 'Keystone uri="%s/identity"' % own
    status, _, body = _request(cloud, "127.0.0.61", "POST", "/identity/v3/auth/tokens",
                               _auth("admin", cloud.admin_password), headers=evil)
    assert status == 201
    urls = [endpoint["url"] for service in json.loads(body)["token"]["catalog"]
            for endpoint in service["endpoints"]]
    assert urls and all(url.startswith(own) for url in urls), urls
    status, _, body = _request(cloud, "127.0.0.61", "GET", "/identity/v3", headers=evil)
    assert b"evil.example" not in body
