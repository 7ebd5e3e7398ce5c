"""The embedded identity service with real daemons (auth_strategy = vmctl):
bootstrap, tokens, the admin APIs, policy through real tokens, keystoneauth
and openstacksdk against it, and no secret in any log.
"""

import glob
import json
import os
import subprocess
import sys

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3 as ks_v3
import openstack
import pytest
import requests
import yaml

# Every token and password these tests saw: none may reach a log.
SECRETS = []


@pytest.fixture(scope="module")
def cloud(cloud_factory):
    cloud = cloud_factory("identity", computes=1, auth="vmctl",
                          conf_overrides={"DEFAULT": {"debug": True}})
    SECRETS.append(cloud.admin_password)
    return cloud


@pytest.fixture(scope="module")
def users(cloud):
    """alice (member of proj-a), bob (member of proj-b), rita (reader of proj-a)."""
    made = {"alice": cloud.add_user("alice", "proj-a", roles=["member", "reader"]),
            "bob": cloud.add_user("bob", "proj-b", roles=["member", "reader"]),
            "rita": cloud.add_user("rita", "proj-a", roles=["reader"])}
    SECRETS.extend(u["password"] for u in made.values())
    return made


def _token(cloud, user="admin", project="admin", password=None):
    token, body = cloud.token(user, project, password)
    SECRETS.append(token)
    return token, body


def _auth(user, password, project):
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}


def test_bootstrap_is_idempotent(cloud):
    admin = cloud.identity_admin()
    before = admin.get(cloud.identity_url + "/users", params={"name": "admin"}).json()
    out = cloud._manage("bootstrap", "--username", "admin", "--project", "admin",
                        "--password-env", "PW", env={"PW": cloud.admin_password})
    assert before["users"][0]["id"] in out and "password reset" not in out
    assert admin.get(cloud.identity_url + "/users",
                     params={"name": "admin"}).json() == before
    roles = sorted(r["name"] for r in admin.get(cloud.identity_url + "/roles").json()["roles"])
    assert roles == ["admin", "member", "reader", "service"]
    projects = admin.get(cloud.identity_url + "/projects", params={"name": "admin"}).json()
    assert len(projects["projects"]) == 1


def test_token_issue_validate_and_catalog(cloud):
    token, body = _token(cloud)
    assert body["user"]["name"] == "admin" and body["project"]["name"] == "admin"
    assert {r["name"] for r in body["roles"]} == {"admin", "member", "reader"}
    base = "http://127.0.0.1:%d" % cloud.api_port
    public = {s["type"]: [e["url"] for e in s["endpoints"] if e["interface"] == "public"]
              for s in body["catalog"]}
    assert public == {"compute": [base + "/v2.1"], "image": [base + "/image"],
                      "identity": [base + "/identity/v3"]}
    resp = requests.get(cloud.identity_url + "/auth/tokens", timeout=30, headers={
        "X-Auth-Token": token, "X-Subject-Token": token})
    assert resp.status_code == 200
    assert resp.json()["token"]["audit_ids"] == body["audit_ids"]


def test_wrong_password_is_401(cloud):
    resp = requests.post(cloud.identity_url + "/auth/tokens", timeout=30,
                         json=_auth("admin", "not-the-password", "admin"))
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == 401
    assert "X-Subject-Token" not in resp.headers
    resp = requests.get(cloud.api_url + "/servers", timeout=30,
                        headers={"X-Auth-Token": "admin:admin"})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith('Keystone uri="http://127.0.0.1:')


def test_disabling_and_password_change_invalidate_tokens(cloud):
    user = cloud.add_user("erin", "proj-e")
    SECRETS.append(user["password"])
    admin = cloud.identity_admin()
    url = "%s/users/%s" % (cloud.identity_url, user["id"])
    token, _ = _token(cloud, "erin", "proj-e")
    headers = {"X-Auth-Token": token}
    assert requests.get(cloud.api_url + "/servers", headers=headers, timeout=30).ok
    resp = admin.patch(url, json={"user": {"password": "erin-new-pw"}}, timeout=30)
    assert resp.status_code == 200
    SECRETS.append("erin-new-pw")
    assert requests.get(cloud.api_url + "/servers", headers=headers,
                        timeout=30).status_code == 401
    token, _ = _token(cloud, "erin", "proj-e", "erin-new-pw")
    headers = {"X-Auth-Token": token}
    assert requests.get(cloud.api_url + "/servers", headers=headers, timeout=30).ok
    assert admin.patch(url, json={"user": {"enabled": False}}, timeout=30).ok
    assert requests.get(cloud.api_url + "/servers", headers=headers,
                        timeout=30).status_code == 401
    resp = requests.post(cloud.identity_url + "/auth/tokens", timeout=30,
                         json=_auth("erin", "erin-new-pw", "proj-e"))
    assert resp.status_code == 401
    assert admin.delete(url, timeout=30).status_code == 204


def test_admin_apis(cloud, users):
    admin = cloud.identity_admin()
    base = cloud.identity_url
    names = {u["name"] for u in admin.get(base + "/users").json()["users"]}
    assert {"admin", "alice", "bob", "rita"} <= names
    alice = users["alice"]
    shown = admin.get("%s/users/%s" % (base, alice["id"])).json()["user"]
    assert shown["name"] == "alice" and shown["domain_id"] == "default"
    assignments = admin.get(base + "/role_assignments", params={
        "user.id": alice["id"], "include_names": "1"}).json()["role_assignments"]
    assert sorted((a["role"]["name"], a["scope"]["project"]["name"]) for a in assignments) \
        == [("member", "proj-a"), ("reader", "proj-a")]
    by_project = admin.get(base + "/role_assignments", params={
        "scope.project.id": alice["project_id"]}).json()["role_assignments"]
    assert {a["user"]["id"] for a in by_project} == {alice["id"], users["rita"]["id"]}
    resp = admin.post(base + "/projects", json={"project": {"name": "proj-tmp",
                                                           "description": "x"}})
    assert resp.status_code == 201
    project_id = resp.json()["project"]["id"]
    resp = admin.patch("%s/projects/%s" % (base, project_id),
                       json={"project": {"description": "y"}})
    assert resp.json()["project"]["description"] == "y"
    assert admin.post(base + "/projects",
                      json={"project": {"name": "proj-tmp"}}).status_code == 409
    assert admin.delete("%s/projects/%s" % (base, project_id)).status_code == 204
    assert admin.get("%s/projects/%s" % (base, project_id)).status_code == 404
    assert [d["id"] for d in admin.get(base + "/domains").json()["domains"]] == ["default"]


@pytest.mark.parametrize("method,path", [
    ("GET", "/identity/v3/users"), ("POST", "/identity/v3/users"),
    ("GET", "/identity/v3/projects"), ("GET", "/identity/v3/role_assignments"),
    ("GET", "/v2.1/os-services"), ("GET", "/v2.1/os-hypervisors"),
    ("POST", "/v2.1/flavors")])
def test_non_admin_refused(cloud, users, method, path):
    token, _ = _token(cloud, "alice", "proj-a")
    body = {"user": {"name": "x"}} if method == "POST" else None
    if path.endswith("/flavors"):
        body = {"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1}}
    resp = requests.request(method, "http://127.0.0.1:%d%s" % (cloud.api_port, path),
                            json=body, headers={"X-Auth-Token": token}, timeout=30)
    assert resp.status_code == 403, resp.text


def test_project_member_sees_only_own_servers(cloud, users):
    alice = cloud.api_as("alice", "proj-a")
    bob = cloud.api_as("bob", "proj-b")
    rita = cloud.api_as("rita", "proj-a")
    server = alice.create_server("alice-vm")
    alice.wait_for_status(server["id"], "ACTIVE")
    assert [s["id"] for s in alice.get("servers").json()["servers"]] == [server["id"]]
    assert [s["id"] for s in rita.get("servers").json()["servers"]] == [server["id"]]
    assert bob.get("servers").json()["servers"] == []
    resp = bob.get("servers", params={"all_tenants": "1"})
    assert resp.status_code == 403 or resp.json()["servers"] == []
    assert bob.get("servers/%s" % server["id"]).status_code == 404
    assert bob.delete("servers/%s" % server["id"]).status_code == 404
    # A reader may look but not act.
    assert rita.action(server["id"], {"os-stop": None}).status_code == 403
    shown = alice.server(server["id"])
    assert shown["tenant_id"] == users["alice"]["project_id"]
    assert shown["user_id"] == users["alice"]["id"]
    everyone = cloud.api().get("servers", params={"all_tenants": "1"}).json()["servers"]
    assert server["id"] in [s["id"] for s in everyone]
    cloud.delete_all_servers()


def test_removed_role_takes_effect_at_once(cloud, users):
    token, _ = _token(cloud, "bob", "proj-b")
    headers = {"X-Auth-Token": token}
    assert requests.get(cloud.api_url + "/servers", headers=headers, timeout=30).ok
    admin = cloud.identity_admin()
    roles = {r["name"]: r["id"] for r in
             admin.get(cloud.identity_url + "/roles").json()["roles"]}
    grant = "%s/projects/%s/users/%s/roles/%%s" % (
        cloud.identity_url, users["bob"]["project_id"], users["bob"]["id"])
    for role in ("member", "reader"):
        assert admin.delete(grant % roles[role]).status_code == 204
    assert requests.get(cloud.api_url + "/servers", headers=headers,
                        timeout=30).status_code == 401
    for role in ("member", "reader"):
        assert admin.put(grant % roles[role]).status_code == 204


@pytest.mark.parametrize("path", ["/identity/v3", "/identity"])
def test_keystoneauth_discovers_and_authenticates(cloud, users, path):
    auth = ks_v3.Password(auth_url="http://127.0.0.1:%d%s" % (cloud.api_port, path),
                          username="alice", password=users["alice"]["password"],
                          project_name="proj-a", user_domain_name="Default",
                          project_domain_name="Default")
    sess = ks_session.Session(auth=auth)
    SECRETS.append(sess.get_token())
    assert sess.get_endpoint(service_type="compute", interface="public") == cloud.api_url
    assert sess.get_project_id() == users["alice"]["project_id"]


def test_openstacksdk_lists_servers(cloud, users):
    conn = openstack.connect(
        auth_url=cloud.identity_url, username="alice", password=users["alice"]["password"],
        project_name="proj-a", user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", load_yaml_config=False, load_envvars=False)
    try:
        assert list(conn.compute.servers()) == []
        assert conn.identity.get_user(users["alice"]["id"]).name == "alice"
        SECRETS.append(conn.session.get_token())
    finally:
        conn.close()


def _openstack(cloud, tmp_path, user, password, project, *args, output=True):
    """Run python-openstackclient as an operator does: with a clouds.yaml.
    Its JSON output (``-f json`` is added unless ``output`` is False)."""
    clouds = tmp_path / ("clouds-%s.yaml" % user)
    clouds.write_text(yaml.safe_dump({"clouds": {"vmctl": {
        "auth": {"auth_url": cloud.identity_url, "username": user, "password": password,
                 "project_name": project, "user_domain_name": "Default",
                 "project_domain_name": "Default"},
        "region_name": "RegionOne", "identity_api_version": 3}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    openstack_cli = os.path.join(os.path.dirname(sys.executable), "openstack")
    fmt = ["-f", "json"] if output else []
    result = subprocess.run([openstack_cli, "--os-cloud", "vmctl", *args, *fmt],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, "openstack %s: %s" % (" ".join(args), result.stderr)
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_openstack_client_with_clouds_yaml(cloud, users, tmp_path):
    alice = ("alice", users["alice"]["password"], "proj-a")
    token = _openstack(cloud, tmp_path, *alice, "token", "issue")
    SECRETS.append(token["id"])
    assert token["project_id"] == users["alice"]["project_id"]
    assert _openstack(cloud, tmp_path, *alice, "server", "list") == []


def test_openstack_client_manages_identity(cloud, tmp_path):
    admin = ("admin", cloud.admin_password, "admin")
    _openstack(cloud, tmp_path, *admin, "project", "create", "proj-cli")
    SECRETS.append("cli-Passw0rd")
    user = _openstack(cloud, tmp_path, *admin, "user", "create", "--password",
                      "cli-Passw0rd", "--project", "proj-cli", "carl")
    assert user["name"] == "carl" and user["enabled"] is True
    roles = _openstack(cloud, tmp_path, *admin, "role", "list")
    assert {r["Name"] for r in roles} >= {"admin", "member", "reader"}
    _openstack(cloud, tmp_path, *admin, "role", "add", "--user", "carl", "--project",
               "proj-cli", "member", output=False)
    found = _openstack(cloud, tmp_path, *admin, "role", "assignment", "list", "--user", "carl",
                       "--names")
    assert [(a["Role"], a["Project"]) for a in found] == [("member", "proj-cli@Default")]
    carl = ("carl", "cli-Passw0rd", "proj-cli")
    assert _openstack(cloud, tmp_path, *carl, "server", "list") == []


def test_key_rotation_keeps_tokens_valid(cloud):
    token, _ = _token(cloud)
    cloud._manage("fernet", "rotate")
    headers = {"X-Auth-Token": token}
    assert requests.get(cloud.api_url + "/servers", headers=headers, timeout=30).ok
    fresh, _ = _token(cloud)
    assert requests.get(cloud.api_url + "/servers", timeout=30,
                        headers={"X-Auth-Token": fresh}).ok


def test_zz_no_secret_in_any_log(cloud):
    """Last: every password and token used above, and the Fernet keys, are
    absent from every daemon's log (debug logging is on)."""
    secrets_seen = set(SECRETS) | set(cloud._tokens.values())
    for path in glob.glob(os.path.join(cloud.key_repository, "*")):
        with open(path) as f:
            secrets_seen.add(f.read().strip())
    assert cloud.admin_password in secrets_seen and len(secrets_seen) > 10
    logs = glob.glob(os.path.join(cloud.log_dir, "*.log"))
    assert len(logs) >= 4
    for path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        leaked = [s[:8] + "..." for s in secrets_seen if s in text]
        assert not leaked, "%s contains secrets: %s" % (path, leaked)
    # The check bites: the API log does name what happened.
    with open(cloud.log_path("api")) as f:
        assert "/identity/v3/auth/tokens" in f.read()
