"""[api] auth_strategy: the vmctl, keystone and noauth middlewares."""

import pytest
import webob

from tests.fixtures.conf import make_conf
from vmctl.api import app as api_app
from vmctl.api import auth
from vmctl.db import api as db_api
from vmctl.db import models
from vmctl.identity import api as identity_api
from vmctl.identity import tokens


def _conf(strategy, **identity):
    conf = make_conf()
    conf.set_override("auth_strategy", strategy, group="api")
    for key, value in identity.items():
        conf.set_override(key, value, group="identity")
    return conf


def _echo(environ, start_response):
    """The app behind the middleware: shows the identity it was given."""
    resp = webob.Response(json=environ.get(auth.IDENTITY_KEY))
    resp.headers["X-Has-Provider"] = str(identity_api.PROVIDER_KEY in environ)
    return resp(environ, start_response)


def _get(app, path, **headers):
    req = webob.Request.blank(path, headers=headers)
    return req.get_response(app)


def test_default_strategy_is_vmctl():
    conf = make_conf()
    assert conf.api.auth_strategy == "vmctl"


def test_unknown_strategy_refused():
    with pytest.raises(ValueError):
        _conf("nope")


def test_noauth_passes_identity_and_provider():
    app = auth.make_middleware(_conf("noauth"), _echo)
    resp = _get(app, "/v2.1/servers", **{"X-Auth-Token": "bob:p1"})
    assert resp.json == {"user_id": "bob", "project_id": "p1", "roles": ["member", "reader"],
                         "is_admin_project": False}
    assert resp.headers["X-Has-Provider"] == "True"
    assert _get(app, "/v2.1/servers").status_int == 401


def test_vmctl_refuses_noauth_tokens_and_allows_public_routes(tmp_path):
    conf = _conf("vmctl", key_repository=str(tmp_path / "keys"))
    app = auth.make_middleware(conf, _echo, db=object())
    # Where to get a token is the API's own address, not the Host a client sent.
    resp = _get(app, "/v2.1/servers", **{"X-Auth-Token": "bob:p1", "Host": "evil.example"})
    assert resp.status_int == 401
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="http://127.0.0.1:8774/identity"'
    assert resp.json["unauthorized"]["code"] == 401
    assert _get(app, "/v2.1/servers").status_int == 401
    # Public: version documents and token issue, even with a bad token.
    assert _get(app, "/", **{"X-Auth-Token": "bob:p1"}).status_int == 200
    assert _get(app, "/identity/v3").status_int == 200
    req = webob.Request.blank("/identity/v3/auth/tokens", method="POST")
    assert req.get_response(app).status_int == 200
    # ... but only with their method.
    req = webob.Request.blank("/identity/v3/auth/tokens", method="GET")
    assert req.get_response(app).status_int == 401


def test_vmctl_public_endpoint_in_www_authenticate(tmp_path):
    conf = _conf("vmctl", key_repository=str(tmp_path / "keys"),
                 public_endpoint="https://cloud.example.com:8774/")
    app = auth.make_middleware(conf, _echo, db=object())
    resp = _get(app, "/v2.1/servers")
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="https://cloud.example.com:8774/identity"'


def test_vmctl_needs_the_database():
    with pytest.raises(ValueError):
        auth.make_middleware(_conf("vmctl"), _echo)


KEYSTONE_HEADERS = {
    "HTTP_X_IDENTITY_STATUS": "Confirmed", "HTTP_X_USER_ID": "u-1",
    "HTTP_X_PROJECT_ID": "p-1", "HTTP_X_ROLES": "member, reader",
    "HTTP_X_USER_NAME": "alice", "HTTP_X_PROJECT_NAME": "demo",
}


def test_keystone_headers_mapping():
    assert auth.identity_from_keystone(dict(KEYSTONE_HEADERS)) == {
        "user_id": "u-1", "project_id": "p-1", "roles": ["member", "reader"],
        "user_name": "alice", "project_name": "demo", "is_admin_project": None}
    for header, seen in (("True", True), ("False", False)):
        identity = auth.identity_from_keystone(dict(KEYSTONE_HEADERS,
                                                    HTTP_X_IS_ADMIN_PROJECT=header))
        assert identity["is_admin_project"] is seen


@pytest.mark.parametrize("change", [
    {"HTTP_X_IDENTITY_STATUS": "Invalid"}, {"HTTP_X_IDENTITY_STATUS": None},
    {"HTTP_X_USER_ID": None}, {"HTTP_X_PROJECT_ID": ""}])
def test_keystone_unconfirmed_is_no_identity(change):
    environ = dict(KEYSTONE_HEADERS)
    for key, value in change.items():
        if value is None:
            environ.pop(key)
        else:
            environ[key] = value
    assert auth.identity_from_keystone(environ) is None


def test_keystone_identity_middleware():
    conf = _conf("keystone")
    auth.make_middleware(conf, _echo)  # registers [keystone_authtoken]
    conf.set_override("www_authenticate_uri", "https://keystone.example/v3",
                      group="keystone_authtoken")
    inner = auth.KeystoneIdentityMiddleware(_echo, conf)
    req = webob.Request.blank("/v2.1/servers")
    req.environ.update(KEYSTONE_HEADERS)
    resp = req.get_response(inner)
    assert resp.json["user_id"] == "u-1" and resp.json["roles"] == ["member", "reader"]
    req = webob.Request.blank("/v2.1/servers")
    req.environ.update(dict(KEYSTONE_HEADERS, HTTP_X_IDENTITY_STATUS="Invalid"))
    resp = req.get_response(inner)
    assert resp.status_int == 401
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="https://keystone.example/v3"'


def test_keystone_auth_token_in_front():
    """The real auth_token: with no token it asks no Keystone; spoofed
    identity headers are stripped; public routes answer."""
    conf = _conf("keystone")
    auth.make_middleware(conf, _echo)  # registers [keystone_authtoken]
    conf.set_override("www_authenticate_uri", "https://keystone.example/v3",
                      group="keystone_authtoken")
    app = auth.make_middleware(conf, _echo)
    assert type(app).__name__ == "AuthProtocol"
    req = webob.Request.blank("/v2.1/servers")
    req.headers.update({"X-Identity-Status": "Confirmed", "X-User-Id": "evil",
                        "X-Project-Id": "p", "X-Roles": "admin"})
    assert req.get_response(app).status_int == 401
    assert _get(app, "/v2.1").status_int == 200


def test_keystone_strategy_turns_the_embedded_identity_service_off(tmp_path):
    conf = _conf("keystone")
    conf.set_override("policy_file", str(tmp_path / "policy.yaml"), group="api")
    auth.make_middleware(conf, _echo)  # registers [keystone_authtoken]
    conf.set_override("www_authenticate_uri", "https://keystone.example/v3",
                      group="keystone_authtoken")
    db = db_api.Database("sqlite:///%s" % (tmp_path / "api.sqlite"))
    models.Base.metadata.create_all(db.engine)
    try:
        app = api_app.setup_app(conf, db, None)
        for method, path in (("GET", "/identity/v3"), ("GET", "/identity"),
                             ("POST", "/identity/v3/auth/tokens")):
            resp = webob.Request.blank(path, method=method).get_response(app)
            assert resp.status_int == 404, (method, path)
            assert resp.json["error"]["code"] == 404
        assert _get(app, "/v2.1").status_int == 200
    finally:
        db.dispose()


def test_vmctl_refuses_to_serve_without_keys(tmp_path):
    conf = _conf("vmctl", key_repository=str(tmp_path / "keys"))
    conf.set_override("listen", "0.0.0.0", group="api")
    refusal = auth.check_listen(conf)
    assert "fernet setup" in refusal and str(tmp_path / "keys") in refusal
    tokens.setup(str(tmp_path / "keys"), 3)
    assert auth.check_listen(conf) is None


def test_which_requests_empty_the_validation_cache():
    def changes(method, path):
        return auth._changes_identity({"REQUEST_METHOD": method, "PATH_INFO": path})
    assert changes("PATCH", "/identity/v3/users/u1")
    assert changes("DELETE", "/identity/v3/auth/tokens")  # a revocation
    assert changes("PUT", "/identity/v3/projects/p/users/u/roles/r")
    assert not changes("POST", "/identity/v3/auth/tokens")  # a login changes nothing
    assert not changes("GET", "/identity/v3/users")
    assert not changes("POST", "/v2.1/servers")
