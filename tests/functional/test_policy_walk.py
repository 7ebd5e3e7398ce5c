"""Every endpoint x role x foreign project: nobody gets in where they do not
belong, and nothing of one project leaks to another.

The walk covers ``vmctl.api.routes.ROUTES`` whole, so a new route is walked
as soon as it exists: a route whose path parameter or request body this
module does not know fails the test, asking for one. Four personas hold
real tokens of the embedded identity service:

- ``admin``: role admin;
- ``alice``: member of project A, which owns the server, image, server group
  and live migration the paths point at;
- ``rita``: reader (only) of project A;
- ``bob``: member of project B;
- ``boss``: admin of project B (the admin role on a project other than
  ``[identity] admin_project``): must get no more than bob.

What each may do is written here, independently of vmctl/policies, as the
contract: admin-only resources refuse members and readers with 403; a
reader never changes anything (403); another project's resources are 403 or
404 and never appear in its lists. Nothing answers 5xx.
"""

import re

import pytest

from vmctl.api import routes

# (METHOD, template) patterns only administrators may use.
ADMIN_ONLY = [re.compile(p) for p in (
    r"^(POST|PUT|DELETE) /v2\.1/flavors",
    r"^\w+ /v2\.1/servers/\{server_id\}/migrations",
    r"^\w+ /v2\.1/os-migrations",
    r"^\w+ /v2\.1/os-services",
    r"^\w+ /v2\.1/os-hypervisors",
    r"^\w+ /v2\.1/os-aggregates",
    r"^GET /v2\.1/os-availability-zone/detail",
    r"^\w+ /identity/v3/(users|projects|roles|role_assignments)",
)]
# Exceptions to ADMIN_ONLY: a user on itself, a token on its own project.
SELF_SERVICE = {
    ("GET", "/identity/v3/users/{user_id}"): ("alice",),
    ("GET", "/identity/v3/users/{user_id}/projects"): ("alice",),
    ("GET", "/identity/v3/projects/{project_id}"): ("alice", "rita"),
    ("POST", "/identity/v3/users/{user_id}/password"): ("alice",),
}
# Server actions only administrators may ask for.
ADMIN_ACTIONS = {"os-migrateLive", "migrate", "evacuate"}
ACTION_BODIES = {
    "os-start": None, "os-stop": None, "pause": None, "unpause": None,
    "suspend": None, "resume": None, "reboot": {"type": "SOFT"},
    "os-getConsoleOutput": {"length": 10},
    "os-migrateLive": {"host": None, "block_migration": "auto"},
    "migrate": None, "resize": {"flavorRef": "2"}, "confirmResize": None,
    "revertResize": None, "evacuate": {},
}
# The token routes are each user's own business (tests/functional/test_identity.py).
SKIPPED = {("GET", "/identity/v3/auth/tokens"), ("HEAD", "/identity/v3/auth/tokens"),
           ("DELETE", "/identity/v3/auth/tokens")}

# Valid request bodies of the routes that take one: a refusal must come
# from authorization or the project scope, never from a malformed body.
BODIES = {
    ("POST", "/v2.1/flavors"): {"flavor": {"name": "walk-new", "ram": 64, "vcpus": 1,
                                           "disk": 0}},
    ("POST", "/v2.1/flavors/{flavor_id}/os-extra_specs"): {
        "extra_specs": {"walk:key": "other"}},
    ("PUT", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"): {"walk:key": "other"},
    ("POST", "/v2.1/servers"): {"server": {"name": "walk-new", "flavorRef": "1",
                                           "imageRef": "img"}},
    ("POST", "/v2.1/servers/{server_id}/migrations/{migration_id}/action"): {
        "force_complete": None},
    ("PUT", "/v2.1/os-services/{service_id}"): {"status": "disabled",
                                                "disabled_reason": "walk"},
    ("POST", "/v2.1/os-server-groups"): {"server_group": {"name": "walk-new",
                                                          "policy": "anti-affinity"}},
    ("POST", "/v2.1/os-aggregates"): {"aggregate": {"name": "walk-new"}},
    ("PUT", "/v2.1/os-aggregates/{aggregate_id}"): {"aggregate": {"name": "walk-renamed"}},
    ("POST", "/v2.1/os-aggregates/{aggregate_id}/action"): {
        "set_metadata": {"metadata": {"walk": "yes"}}},
    ("POST", "/image/v2/images"): {"name": "walk-new", "disk_format": "raw",
                                   "container_format": "bare"},
    ("PATCH", "/image/v2/images/{image_id}"): [
        {"op": "replace", "path": "/name", "value": "walk-renamed"}],
    ("PUT", "/image/v2/images/{image_id}/file"): b"walk",
    ("POST", "/identity/v3/users"): {"user": {"name": "walk-new", "password": "walk-pw-1"}},
    ("PATCH", "/identity/v3/users/{user_id}"): {"user": {"enabled": False}},
    ("POST", "/identity/v3/users/{user_id}/password"): {"user": {
        "original_password": "wrong", "password": "walk-pw-2"}},
    ("POST", "/identity/v3/projects"): {"project": {"name": "walk-new"}},
    ("PATCH", "/identity/v3/projects/{project_id}"): {"project": {"enabled": False}},
    ("POST", "/identity/v3/roles"): {"role": {"name": "walk-new"}},
    ("PUT", "/identity/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"): None,
}
CONTENT_TYPES = {
    ("PATCH", "/image/v2/images/{image_id}"): "application/openstack-images-v2.1-json-patch",
    ("PUT", "/image/v2/images/{image_id}/file"): "application/octet-stream",
}
# Personas of project B: project A's resources are 403 or 404 to them.
FOREIGN = ("bob", "boss")
# Path parameters that name project A's resources (the rest are global).
OWNED_PARAMS = {"server_id", "migration_id", "request_id", "image_id", "server_group_id",
                "user_id", "project_id"}


def _admin_only(method, template):
    line = "%s %s" % (method, template)
    return any(p.match(line) for p in ADMIN_ONLY)


def _reads(method):
    return method in ("GET", "HEAD")


class World:
    """Project A's resources, created through the API, and the personas."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.alice = cloud.add_user("alice", "walk-a", roles=["member"])
        self.rita = cloud.add_user("rita", "walk-a", roles=["reader"])
        self.bob = cloud.add_user("bob", "walk-b", roles=["member"])
        self.boss = cloud.add_user("boss", "walk-b", roles=["admin"])
        self.clients = {name: cloud.api_as(name, project) for name, project in (
            ("admin", "admin"), ("alice", "walk-a"), ("rita", "walk-a"), ("bob", "walk-b"),
            ("boss", "walk-b"))}
        self.params = self._make_resources()

    def _make_resources(self):
        admin, alice = self.clients["admin"], self.clients["alice"]
        server = alice.create_server("walk-a-vm")
        alice.wait_for_status(server["id"], "ACTIVE")
        _ok(admin.action(server["id"], {"os-migrateLive": {
            "host": None, "block_migration": "auto"}}), 202)
        migration = _wait_migration(admin, server["id"])
        alice.wait_for_status(server["id"], "ACTIVE")
        request_id = alice.actions(server["id"])[0]["request_id"]
        image = _ok(alice.post(self._root("/image/v2/images"), json={
            "name": "walk-a-img", "disk_format": "raw", "container_format": "bare",
            "visibility": "private"}), 201).json()
        group = _ok(alice.post("os-server-groups", json={"server_group": {
            "name": "walk-a-group", "policy": "anti-affinity"}}), 200).json()["server_group"]
        flavor = _ok(admin.post("flavors", json={"flavor": {
            "name": "walk-flavor", "ram": 64, "vcpus": 1, "disk": 0}}), 200).json()["flavor"]
        _ok(admin.post("flavors/%s/os-extra_specs" % flavor["id"], json={
            "extra_specs": {"walk:key": "v"}}), 200)
        aggregate = _ok(admin.post("os-aggregates", json={"aggregate": {
            "name": "walk-agg"}}), 200).json()["aggregate"]
        service = admin.get("os-services", params={"binary": "vmctl-compute"}).json()[
            "services"][0]
        hypervisor = admin.get("os-hypervisors").json()["hypervisors"][0]
        roles = {r["name"]: r["id"] for r in self.cloud.identity_admin().get(
            self.cloud.identity_url + "/roles", timeout=30).json()["roles"]}
        return {"server_id": server["id"], "migration_id": str(migration["id"]),
                "request_id": request_id, "image_id": image["id"],
                "server_group_id": group["id"], "flavor_id": flavor["id"],
                "key": "walk:key", "aggregate_id": str(aggregate["id"]),
                "service_id": str(service["id"]), "hypervisor_id": str(hypervisor["id"]),
                "user_id": self.alice["id"], "project_id": self.alice["project_id"],
                "role_id": roles["member"], "domain_id": "default"}

    def _root(self, template):
        return self.cloud.api_url[:-len("/v2.1")] + template

    def secrets_of_a(self):
        """Identifiers of project A that must never reach project B."""
        p = self.params
        return [p[k] for k in ("server_id", "image_id", "server_group_id", "request_id",
                               "user_id", "project_id")]

    def url(self, route):
        missing = [n for n in re.findall(r"\{(\w+)\}", route.template) if n not in self.params]
        if missing:
            pytest.fail("%s %s: add a value for %s to the policy walk" % (
                route.method, route.template, ", ".join(missing)))
        return self._root(route.template.format(**self.params))

    def send(self, persona, route, body=None):
        key = (route.method, route.template)
        kw = {}
        if body is None and route.method not in ("GET", "HEAD", "DELETE"):
            if key not in BODIES:
                pytest.fail("%s %s: add a valid request body to the policy walk" % key)
            body = BODIES[key]
        if isinstance(body, bytes):
            kw["data"] = body
        elif body is not None:
            kw["json"] = body
        if key in CONTENT_TYPES:
            kw["headers"] = {"Content-Type": CONTENT_TYPES[key]}
        return self.clients[persona].request(route.method, self.url(route), **kw)


def _ok(resp, status):
    assert resp.status_code == status, (resp.request.method, resp.url, resp.status_code,
                                        resp.text)
    return resp


def _wait_migration(admin, server_id, timeout=60):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = admin.get("os-migrations", params={"instance_uuid": server_id}).json()[
            "migrations"]
        if found and found[0]["status"] in ("completed", "failed", "error", "cancelled"):
            assert found[0]["status"] == "completed", found[0]
            return found[0]
        time.sleep(0.3)
    raise AssertionError("live migration of %s did not end" % server_id)


def _walked():
    return [r for r in routes.ROUTES if not r.public and (r.method, r.template) not in SKIPPED]


def _action_route():
    return next(r for r in routes.ROUTES if r.template == "/v2.1/servers/{server_id}/action")


@pytest.fixture(scope="module")
def world(cloud_factory):
    return World(cloud_factory("walk", computes=2, auth="vmctl"))


def _expected(persona, route, owned, action=None):
    """The statuses ``persona`` may get, or None when the request is not sent
    (a change to what another persona checks)."""
    key = (route.method, route.template)
    admin_only = _admin_only(*key) or action in ADMIN_ACTIONS
    if persona in SELF_SERVICE.get(key, ()):
        admin_only = False
    reads = _reads(route.method) and action is None
    if persona == "admin":
        return "allowed" if reads else None
    if persona in FOREIGN and owned:
        return {403, 404}
    if admin_only:
        return {403}
    if reads:
        return "2xx"
    if persona == "rita":
        return {403}
    return None


def _check(problems, world, persona, route, action=None):
    owned = bool(OWNED_PARAMS & set(re.findall(r"\{(\w+)\}", route.template)))
    expected = _expected(persona, route, owned, action)
    if expected is None:
        return
    body = {action: ACTION_BODIES[action]} if action else None
    resp = world.send(persona, route, body)
    what = "%s %s %s%s -> %s %s" % (persona, route.method, route.template,
                                    " (%s)" % action if action else "", resp.status_code,
                                    resp.text[:160])
    if expected == "2xx":
        good = 200 <= resp.status_code < 300
    elif expected == "allowed":  # e.g. 404 for a migration no longer in progress
        good = resp.status_code < 500 and resp.status_code not in (401, 403)
    else:
        good = resp.status_code in expected
    if not good:
        problems.append("expected %s: %s" % (expected, what))
    if persona in FOREIGN and 200 <= resp.status_code < 300:
        leaked = [s for s in world.secrets_of_a() if s in resp.text]
        if leaked:
            problems.append("project A's %s leaked: %s" % (leaked, what))


@pytest.mark.parametrize("persona", ["bob", "boss", "rita", "alice", "admin"])
def test_every_endpoint_for_every_role(world, persona):
    problems = []
    for route in _walked():
        if route.template == "/v2.1/servers/{server_id}/action":
            continue
        _check(problems, world, persona, route)
    for action in ACTION_BODIES:
        _check(problems, world, persona, _action_route(), action)
    assert not problems, "%d problem(s):\n  %s" % (len(problems), "\n  ".join(problems))


def test_foreign_project_filters_leak_nothing(world):
    bob = world.clients["bob"]
    a_project = world.params["project_id"]
    for path, params in (("servers", {"project_id": a_project}),
                         ("servers/detail", {"tenant_id": a_project}),
                         ("servers", {"name": "walk-a-vm"}),
                         ("os-server-groups", {"all_projects": "True"}),
                         ("servers", {"all_tenants": "1"})):
        resp = bob.get(path, params=params)
        assert resp.status_code in (200, 403), (path, resp.text)
        for secret in world.secrets_of_a():
            assert secret not in resp.text, (path, params, resp.text)


def test_ids_in_request_bodies_are_resolved_as_the_caller(world):
    """Project A's ids named in bob's request bodies (imageRef, a server
    group hint) get the same 400 as ids that do not exist: bob can neither
    use them nor learn that they exist (tests/functional/security/
    test_references.py has one test per reference)."""
    bob = world.clients["bob"]
    unknown = "00000000-0000-4000-8000-000000000000"

    def refused(field, value):
        server = {"name": "walk-ref", "flavorRef": "1", "imageRef": "img"}
        body = {"server": server}
        if field == "group":
            body["os:scheduler_hints"] = {"group": value}
        else:
            server[field] = value
        resp = bob.post("servers", json=body)
        assert resp.status_code == 400, (field, resp.status_code, resp.text)
        return resp.json()["badRequest"]["message"].replace(value, "<id>")

    for field, param in (("imageRef", "image_id"), ("group", "server_group_id")):
        assert refused(field, world.params[param]) == refused(field, unknown), field
    assert bob.get("servers").json()["servers"] == []


def test_nothing_of_project_a_was_changed(world):
    """After the walk (run last in this module): A's server still runs where
    it was, untouched by the refused requests."""
    server = world.clients["admin"].server(world.params["server_id"])
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    assert server["name"] == "walk-a-vm"


def test_the_walk_catches_a_rule_opened_by_a_policy_file(cloud_factory, tmp_path_factory):
    """The walk can fail: a policy file opening os-migrations to everyone (an
    operator's mistake) is reported as both a wrong status and a leak."""
    policy = tmp_path_factory.mktemp("policy") / "policy.yaml"
    policy.write_text('"os_compute_api:os-migrations:index": "@"\n')
    opened = World(cloud_factory("opened", computes=2, auth="vmctl", conf_overrides={
        "oslo_policy": {"policy_file": str(policy)}}))
    route = next(r for r in routes.ROUTES if (r.method, r.template) == (
        "GET", "/v2.1/os-migrations"))
    problems = []
    _check(problems, opened, "bob", route)
    assert any(p.startswith("expected {403}") for p in problems), problems
    assert any("leaked" in p for p in problems), problems
