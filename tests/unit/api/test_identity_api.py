"""The identity API in-process (whole WSGI stack, SQLite, auth_strategy vmctl)."""

import json

import pytest
import webob

from tests.fixtures.conf import make_conf
from vmctl.api import app as api_app
from vmctl.db import api as db_api
from vmctl.db import models
from vmctl.identity import bootstrap
from vmctl.identity import tokens

PASSWORD = "pa55-Admin"
V3 = "/identity/v3"


class Env:
    def __init__(self, tmp_path):
        self.conf = make_conf(policy_file=tmp_path / "policy.yaml")
        self.conf.set_override("key_repository", str(tmp_path / "keys"), group="identity")
        self.conf.set_override("password_hash_rounds", 4, group="identity")
        tokens.setup(str(tmp_path / "keys"), 3)
        self.db = db_api.Database("sqlite:///%s" % (tmp_path / "api.sqlite"))
        models.Base.metadata.create_all(self.db.engine)
        bootstrap.bootstrap(self.db, "admin", PASSWORD, "admin", rounds=4)
        self.app = api_app.setup_app(self.conf, self.db, None)

    def call(self, method, path, body=None, token=None, headers=None):
        req = webob.Request.blank(path, method=method)
        if token:
            req.headers["X-Auth-Token"] = token
        req.headers.update(headers or {})
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = "application/json"
        resp = req.get_response(self.app)
        return resp, (resp.json if resp.body and resp.content_type == "application/json"
                      else None)

    def token(self, user="admin", password=PASSWORD, project="admin"):
        resp, body = self.call("POST", V3 + "/auth/tokens", auth_body(user, password, project))
        assert resp.status_int == 201, resp.text
        return resp.headers["X-Subject-Token"], body["token"]


def auth_body(user, password, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"name": "Default"}, "password": password}}}}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    return body


@pytest.fixture
def env(tmp_path):
    env = Env(tmp_path)
    yield env
    env.db.dispose()


def test_version_documents_are_public(env):
    resp, body = env.call("GET", "/identity")
    assert resp.status_int == 300
    assert body["versions"]["values"][0]["id"].startswith("v3")
    resp, body = env.call("GET", V3)
    assert resp.status_int == 200
    assert body["version"]["links"][0]["href"] == "http://127.0.0.1:8774/identity/v3/"


def test_issue_token_shape(env):
    token, body = env.token()
    assert body["methods"] == ["password"]
    assert body["user"]["name"] == "admin"
    assert body["user"]["domain"] == {"id": "default", "name": "Default"}
    assert body["project"]["name"] == "admin"
    assert sorted(r["name"] for r in body["roles"]) == ["admin", "member", "reader"]
    assert body["expires_at"].endswith("Z") and body["issued_at"].endswith("Z")
    catalog = {s["type"]: s for s in body["catalog"]}
    assert set(catalog) == {"compute", "image", "identity"}
    public = {t: [e["url"] for e in s["endpoints"] if e["interface"] == "public"]
              for t, s in catalog.items()}
    assert public == {"compute": ["http://127.0.0.1:8774/v2.1"],
                      "image": ["http://127.0.0.1:8774/image"],
                      "identity": ["http://127.0.0.1:8774/identity/v3"]}
    assert all(e["region"] == "RegionOne" for s in catalog.values() for e in s["endpoints"])


@pytest.mark.parametrize("user,password,project", [
    ("admin", "wrong", "admin"), ("nobody", PASSWORD, "admin"),
    ("admin", PASSWORD, "noproject")])
def test_bad_credentials_401_in_keystone_shape(env, user, password, project):
    resp, body = env.call("POST", V3 + "/auth/tokens", auth_body(user, password, project))
    assert resp.status_int == 401
    assert body["error"]["code"] == 401 and body["error"]["title"] == "Unauthorized"
    assert "X-Subject-Token" not in resp.headers


def test_bad_auth_body_400_never_echoes_password(env):
    body = auth_body("admin", PASSWORD, "admin")
    body["auth"]["identity"]["password"]["user"]["password"] = ["s3cr3t-in-list"]
    resp, out = env.call("POST", V3 + "/auth/tokens", body)
    assert resp.status_int == 400
    assert "s3cr3t" not in resp.text and "password" in out["error"]["message"]


def test_compute_api_with_real_token(env):
    token, _ = env.token()
    resp, _ = env.call("GET", "/v2.1/flavors", token=token)
    assert resp.status_int == 200
    resp, body = env.call("GET", "/v2.1/flavors", token="admin:admin")
    assert resp.status_int == 401
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="http://127.0.0.1:8774/identity"'
    assert body == {"unauthorized": {"code": 401, "message": (
        "The request you have made requires authentication.")}}


def test_validate_check_and_revoke(env):
    token, issued = env.token()
    resp, body = env.call("GET", V3 + "/auth/tokens", token=token,
                          headers={"X-Subject-Token": token})
    assert resp.status_int == 200 and resp.headers["X-Subject-Token"] == token
    assert body["token"]["audit_ids"] == issued["audit_ids"]
    resp, _ = env.call("HEAD", V3 + "/auth/tokens", token=token,
                       headers={"X-Subject-Token": token})
    assert resp.status_int in (200, 204)  # pecan makes an empty 200 a 204
    other, _ = env.token()
    resp, _ = env.call("DELETE", V3 + "/auth/tokens", token=other,
                       headers={"X-Subject-Token": token})
    assert resp.status_int == 204
    resp, _ = env.call("GET", V3 + "/auth/tokens", token=other,
                       headers={"X-Subject-Token": token})
    assert resp.status_int == 404
    resp, _ = env.call("GET", "/v2.1/flavors", token=token)
    assert resp.status_int == 401


def _make_user(env, admin, name, password, role="member", project="p1"):
    resp, body = env.call("POST", V3 + "/projects", {"project": {"name": project}},
                          token=admin)
    project_id = body["project"]["id"] if resp.status_int == 201 else None
    if project_id is None:
        project_id = env.call("GET", V3 + "/projects?name=" + project,
                              token=admin)[1]["projects"][0]["id"]
    resp, body = env.call("POST", V3 + "/users", {"user": {
        "name": name, "password": password, "domain_id": "default"}}, token=admin)
    assert resp.status_int == 201, resp.text
    user_id = body["user"]["id"]
    roles = env.call("GET", V3 + "/roles?name=" + role, token=admin)[1]["roles"]
    resp, _ = env.call("PUT", V3 + "/projects/%s/users/%s/roles/%s"
                       % (project_id, user_id, roles[0]["id"]), token=admin)
    assert resp.status_int == 204
    return user_id, project_id


def test_admin_apis_and_member_refused(env):
    admin, _ = env.token()
    user_id, project_id = _make_user(env, admin, "alice", "alice-pw")
    resp, body = env.call("GET", V3 + "/users", token=admin)
    assert {u["name"] for u in body["users"]} == {"admin", "alice"}
    assert body["links"]["self"].endswith("/identity/v3/users")
    resp, body = env.call("GET", V3 + "/role_assignments?user.id=%s&include_names" % user_id,
                          token=admin)
    assert [(a["role"]["name"], a["scope"]["project"]["name"])
            for a in body["role_assignments"]] == [("member", "p1")]
    alice, tok = env.token("alice", "alice-pw", "p1")
    assert [r["name"] for r in tok["roles"]] == ["member", "reader"]  # implied
    for method, path in (("GET", "/users"), ("GET", "/projects"), ("GET", "/roles"),
                         ("GET", "/role_assignments"), ("DELETE", "/users/" + user_id)):
        resp, body = env.call(method, V3 + path, token=alice)
        assert resp.status_int == 403, (method, path)
        assert body["error"]["code"] == 403
    resp, body = env.call("GET", V3 + "/users/" + user_id, token=alice)
    assert resp.status_int == 200 and body["user"]["name"] == "alice"
    resp, body = env.call("GET", V3 + "/users/%s/projects" % user_id, token=alice)
    assert [p["id"] for p in body["projects"]] == [project_id]
    resp, body = env.call("GET", V3 + "/auth/projects", token=alice)
    assert [p["name"] for p in body["projects"]] == ["p1"]


def test_duplicates_409_and_missing_404(env):
    admin, _ = env.token()
    _make_user(env, admin, "bob", "bob-pw")
    resp, body = env.call("POST", V3 + "/users", {"user": {"name": "bob"}}, token=admin)
    assert resp.status_int == 409 and body["error"]["code"] == 409
    resp, _ = env.call("POST", V3 + "/projects", {"project": {"name": "p1"}}, token=admin)
    assert resp.status_int == 409
    resp, _ = env.call("GET", V3 + "/users/nope", token=admin)
    assert resp.status_int == 404
    resp, body = env.call("POST", V3 + "/users", {"user": {"name": ""}}, token=admin)
    assert resp.status_int == 400 and "name" in body["error"]["message"]


def test_disable_password_change_and_delete_invalidate_tokens(env):
    admin, _ = env.token()
    user_id, _ = _make_user(env, admin, "carol", "carol-pw")
    t1, _ = env.token("carol", "carol-pw", "p1")
    assert env.call("GET", "/v2.1/flavors", token=t1)[0].status_int == 200
    env.call("PATCH", V3 + "/users/" + user_id, {"user": {"password": "new-pw"}},
             token=admin)
    assert env.call("GET", "/v2.1/flavors", token=t1)[0].status_int == 401
    t2, _ = env.token("carol", "new-pw", "p1")
    env.call("PATCH", V3 + "/users/" + user_id, {"user": {"enabled": False}}, token=admin)
    assert env.call("GET", "/v2.1/flavors", token=t2)[0].status_int == 401
    resp, _ = env.call("POST", V3 + "/auth/tokens", auth_body("carol", "new-pw", "p1"))
    assert resp.status_int == 401
    env.call("PATCH", V3 + "/users/" + user_id, {"user": {"enabled": True}}, token=admin)
    t3, _ = env.token("carol", "new-pw", "p1")
    assert env.call("DELETE", V3 + "/users/" + user_id, token=admin)[0].status_int == 204
    assert env.call("GET", "/v2.1/flavors", token=t3)[0].status_int == 401


def test_own_password_change(env):
    admin, _ = env.token()
    user_id, _ = _make_user(env, admin, "dave", "dave-pw")
    dave, _ = env.token("dave", "dave-pw", "p1")
    resp, _ = env.call("POST", V3 + "/users/%s/password" % user_id, {"user": {
        "password": "x2", "original_password": "wrong"}}, token=dave)
    assert resp.status_int == 401
    resp, _ = env.call("POST", V3 + "/users/%s/password" % user_id, {"user": {
        "password": "x2", "original_password": "dave-pw"}}, token=dave)
    assert resp.status_int == 204
    env.token("dave", "x2", "p1")


def test_domains(env):
    admin, _ = env.token()
    resp, body = env.call("GET", V3 + "/domains", token=admin)
    assert [d["id"] for d in body["domains"]] == ["default"]
    assert env.call("GET", V3 + "/domains/default", token=admin)[1]["domain"]["name"] == \
        "Default"
    assert env.call("GET", V3 + "/domains/other", token=admin)[0].status_int == 404


def test_no_keys_is_503_not_500(env, tmp_path):
    env.conf.set_override("key_repository", str(tmp_path / "gone"), group="identity")
    app = api_app.setup_app(env.conf, env.db, None)
    req = webob.Request.blank(V3 + "/auth/tokens", method="POST",
                              body=json.dumps(auth_body("admin", PASSWORD, "admin")).encode())
    req.content_type = "application/json"
    resp = req.get_response(app)
    assert resp.status_int == 503


@pytest.mark.parametrize("path,entity", [("/users", "user"), ("/projects", "project"),
                                         ("/roles", "role")])
def test_unstorable_or_extra_input_is_never_a_500(env, path, entity):
    admin, _ = env.token()
    resp, body = env.call("POST", V3 + path, {entity: {"name": "lone \udbf4 surrogate"}},
                          token=admin)
    assert resp.status_int == 400 and "UTF-8" in body["error"]["message"]
    resp, _ = env.call("POST", V3 + path, {entity: {"name": "nul\x00"}}, token=admin)
    assert resp.status_int == 400
    # Attributes we do not know are ignored, as Keystone keeps them aside.
    resp, body = env.call("POST", V3 + path, {entity: {"name": "x-" + entity, "": {},
                                                       "extra": [1]}}, token=admin)
    assert resp.status_int == 201, resp.text
    assert "extra" not in body[entity]
