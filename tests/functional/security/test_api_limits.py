"""The API protects itself before authentication (issue 21, items 4, 5, 10,
12 and 14), against the real vmctl-api daemon on loopback.

Each test is the regression test of one hole an anonymous (or merely
authenticated) network client could use: a body that costs memory before
the 401, slow clients that hold every worker, forged log lines, 500s on
pathological JSON, and patterns that let a newline or a NUL through.
"""

import json
import socket
import threading
import time
import uuid

import pytest
import requests

HEADER_TIMEOUT = 4
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def cloud(cloud_factory):
    return cloud_factory("limits", computes=1, auth="vmctl",
                         conf_overrides={"api": {"client_header_timeout": HEADER_TIMEOUT}})


@pytest.fixture(scope="module")
def token(cloud):
    return cloud.token()[0]


def _connect(cloud, timeout=10):
    return socket.create_connection(("127.0.0.1", cloud.api_port), timeout=timeout)


def _head(method, path, **headers):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    lines += ["%s: %s" % (name.replace("_", "-"), value) for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _status(sock):
    """The status code of the response on ``sock``; None if it closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None


def _rss(cloud):
    with open("/proc/%d/status" % cloud.pids()["api"]) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# --- item 4: a body costs nothing before it is allowed -------------------------------

@pytest.mark.parametrize("method,path,expected", [
    ("POST", "/v2.1/servers", 413),             # needs a token
    ("POST", "/identity/v3/auth/tokens", 413),  # public
    # Image data streams (no body limit): the 401 comes first and the
    # unread body is dropped with the connection, never read into memory.
    ("PUT", "/image/v2/images/%s/file" % uuid.uuid4(), 401),
])
def test_a_2gb_unauthenticated_body_costs_no_memory(cloud, method, path, expected):
    for _ in range(3):  # warm up whatever the first requests allocate
        requests.get("http://127.0.0.1:%d/" % cloud.api_port, timeout=10)
    before = _rss(cloud)
    for _ in range(3):
        with _connect(cloud) as sock:
            content_type = ("application/octet-stream" if method == "PUT"
                            else "application/json")
            sock.sendall(_head(method, path, Content_Type=content_type,
                               Content_Length=2 * 1024 ** 3))
            try:
                sock.sendall(b"x" * MiB)
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert _status(sock) == expected
    assert _rss(cloud) - before < 16 * MiB


def test_a_chunked_body_is_cut_at_the_limit(cloud):
    with _connect(cloud) as sock:
        sock.sendall(_head("POST", "/identity/v3/auth/tokens", Content_Type="application/json",
                           Transfer_Encoding="chunked"))
        chunk = b"x" * 32768
        try:
            for _ in range(8):  # 256 KiB > the 112 KiB default
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert _status(sock) == 413


# --- item 5: slow clients hold no worker ---------------------------------------------

def _slow_clients(cloud, stop):
    """10 clients dribbling their headers and 10 dribbling a JSON body, one
    byte each per 0.5 s; the sockets, for the test to look at."""
    socks = []
    for i in range(20):
        sock = _connect(cloud, timeout=HEADER_TIMEOUT + 5)
        if i % 2:
            sock.sendall(_head("POST", "/identity/v3/auth/tokens",
                               Content_Type="application/json", Content_Length=1000))
        else:
            sock.sendall(b"GET /v2.1/servers HTTP/1.1\r\n")
        socks.append(sock)

    def dribble():
        while not stop.wait(0.5):
            for sock in socks:
                try:
                    sock.send(b"{")
                except OSError:
                    pass

    threading.Thread(target=dribble, daemon=True).start()
    return socks


def test_twenty_slow_clients_do_not_delay_a_normal_request(cloud, token):
    stop = threading.Event()
    socks = _slow_clients(cloud, stop)
    try:
        time.sleep(1.0)  # every slow client has been handed to a thread
        for path, headers in (("/", {}), ("/v2.1/servers", {"X-Auth-Token": token})):
            started = time.monotonic()
            resp = requests.get("http://127.0.0.1:%d%s" % (cloud.api_port, path),
                                headers=headers, timeout=30)
            assert resp.status_code in (200, 300)
            assert time.monotonic() - started < 1.0, path
        # And the slow clients themselves are cut off at the read deadline.
        deadline = time.monotonic() + HEADER_TIMEOUT + 3
        statuses = []
        for sock in socks:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            statuses.append(_status(sock))
        assert set(statuses) <= {408, None}, statuses
        assert time.monotonic() < deadline + 1
    finally:
        stop.set()
        for sock in socks:
            sock.close()


# --- item 10: what a client sends cannot forge the log -------------------------------

def test_control_characters_in_a_path_are_escaped_in_the_log(cloud):
    marker = uuid.uuid4().hex
    resp = requests.get("http://127.0.0.1:%d/v2.1/%s%%0Aforged-%s%%00end"
                        % (cloud.api_port, marker, marker), timeout=10)
    assert resp.status_code == 401
    deadline = time.monotonic() + 10
    while True:
        with open(cloud.log_path("api"), "rb") as log:
            text = log.read()
        if marker.encode() in text or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    lines = [line for line in text.splitlines() if marker.encode() in line]
    assert lines, "the request was not logged"
    assert all(b"\x00" not in line and not line.startswith(b"forged") for line in lines)
    assert any(b"\\x0aforged-" in line and b"\\x00end" in line for line in lines)


# --- item 12: pathological JSON is a 400, token or not -------------------------------

def _post_raw(cloud, path, raw, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    return requests.post("http://127.0.0.1:%d%s" % (cloud.api_port, path), data=raw,
                         headers=headers, timeout=30)


@pytest.mark.parametrize("path", ["/identity/v3/auth/tokens", "/v2.1/servers",
                                  "/v2.1/os-aggregates"])
def test_deeply_nested_json_is_a_400(cloud, token, path):
    for raw in (b"[" * 40000 + b"]" * 40000,
                b'{"server": ' + b'{"a": ' * 10000 + b"1" + b"}" * 10001):
        resp = _post_raw(cloud, path, raw, token if path.startswith("/v2.1") else None)
        assert resp.status_code == 400, resp.text


@pytest.mark.parametrize("path,body", [
    ("/v2.1/servers", '{"server": {"name": "a\\ud800b", "flavorRef": "1", "imageRef": "x"}}'),
    ("/identity/v3/auth/tokens", '{"auth": {"identity": {"methods": ["password"], '
     '"password": {"user": {"name": "\\udfff", "domain": {"id": "default"}, '
     '"password": "p"}}}}}'),
])
def test_a_lone_surrogate_is_a_400(cloud, token, path, body):
    resp = _post_raw(cloud, path, body.encode("ascii"),
                     token if path.startswith("/v2.1") else None)
    assert resp.status_code == 400, resp.text
    assert "name" in resp.text


# --- item 14: anchors and names ------------------------------------------------------

def test_an_image_id_with_a_trailing_newline_is_refused(cloud, token):
    image_id = str(uuid.uuid4())
    resp = requests.post("http://127.0.0.1:%d/image/v2/images" % cloud.api_port,
                         headers={"X-Auth-Token": token},
                         json={"id": image_id + "\n", "name": "newline",
                               "disk_format": "raw", "container_format": "bare"},
                         timeout=30)
    assert resp.status_code == 400, resp.text
    assert requests.get("http://127.0.0.1:%d/image/v2/images/%s" % (cloud.api_port, image_id),
                        headers={"X-Auth-Token": token}, timeout=30).status_code == 404


@pytest.mark.parametrize("name", ["a\x00b", "ansi\x1b[31m", "two\nlines", "trailing\n",
                                  "c1\x85", "   "])
def test_a_server_name_with_control_characters_is_a_400_naming_the_field(cloud, token, name):
    resp = requests.post(cloud.api_url + "/servers", headers={"X-Auth-Token": token},
                         data=json.dumps({"server": {"name": name, "flavorRef": "1",
                                                     "imageRef": "img"}}),
                         timeout=30)
    assert resp.status_code == 400, resp.text
    assert "name" in resp.json()["badRequest"]["message"]
