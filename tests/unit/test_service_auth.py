"""The computes' service-user tokens, against a tiny Keystone-shaped server
(http.server in a thread) that counts logins."""

import datetime
import http.server
import json
import threading

import pytest

from vmctl import service_auth
from vmctl.conf import service_user

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Identity(http.server.BaseHTTPRequestHandler):
    logins = []
    status = 201
    lifetime = datetime.timedelta(hours=1)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).logins.append((self.path, body))
        if self.status != 201:
            self.send_response(self.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps({"token": {"expires_at": (NOW + self.lifetime).isoformat()}})
        self.send_response(201)
        self.send_header("X-Subject-Token", "tok-%d" % len(self.logins))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def identity():
    Identity.logins = []
    Identity.status = 201
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Identity)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/identity/v3" % httpd.server_address[1]
    httpd.shutdown()
    thread.join(5)


class Opts:
    def __init__(self, auth_url):
        for opt in service_user.OPTS:
            setattr(self, opt.dest, opt.default)
        self.auth_url = auth_url
        self.password = "s3cret"


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


def test_logs_in_once_and_reuses_the_token(identity):
    auth = service_auth.PasswordAuth(Opts(identity), now=Clock())
    assert auth.token() == "tok-1" and auth.token() == "tok-1"
    path, body = Identity.logins[0]
    assert path == "/identity/v3/auth/tokens"
    user = body["auth"]["identity"]["password"]["user"]
    assert (user["name"], user["password"], user["domain"]) == (
        "vmctl-compute", "s3cret", {"name": "Default"})
    assert body["auth"]["scope"]["project"]["name"] == "service"
    assert len(Identity.logins) == 1


def test_renews_before_expiry_and_after_invalidate(identity):
    clock = Clock()
    auth = service_auth.PasswordAuth(Opts(identity), now=clock)
    assert auth.token() == "tok-1"
    clock.now = NOW + datetime.timedelta(minutes=59, seconds=30)   # < 60 s left
    assert auth.token() == "tok-2"
    auth.invalidate()
    assert auth.token() == "tok-3"


def test_auth_url_without_v3_is_completed(identity):
    auth = service_auth.PasswordAuth(Opts(identity[:-len("/v3")]), now=Clock())
    assert auth.token() == "tok-1"
    assert Identity.logins[0][0] == "/identity/v3/auth/tokens"


def test_refusal_is_an_error_without_the_password(identity):
    Identity.status = 401
    with pytest.raises(service_auth.AuthError) as caught:
        service_auth.PasswordAuth(Opts(identity), now=Clock()).token()
    assert "HTTP 401" in str(caught.value) and "s3cret" not in str(caught.value)


def test_unreachable_identity_is_an_error():
    with pytest.raises(service_auth.AuthError, match="unreachable"):
        service_auth.PasswordAuth(Opts("http://127.0.0.1:9/identity/v3"), now=Clock()).token()


def test_without_auth_url_the_static_token_is_used():
    class Conf:
        service_user = Opts(None)

        class image:
            service_token = "admin:service"
    auth = service_auth.for_conf(Conf)
    assert isinstance(auth, service_auth.StaticToken) and auth.token() == "admin:service"
