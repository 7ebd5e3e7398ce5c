import pytest

from tests.fixtures.conf import make_conf
from vmctl import context
from vmctl import policies
from vmctl.api import auth
from vmctl.api import flavors
from vmctl.api import routes
from vmctl.api import server_actions
from vmctl.api import servers


def test_fixed_segments_win_over_ids():
    found, params = routes.match("GET", "/v2.1/servers/detail")
    assert found.handler is servers.detail and params == {}
    found, params = routes.match("GET", "/v2.1/servers/abc/")
    assert found.handler is servers.show and params == {"server_id": "abc"}
    found, params = routes.match("DELETE", "/v2.1/flavors/m1.tiny")
    assert found.handler is flavors.delete and params == {"flavor_id": "m1.tiny"}


def test_method_not_allowed_lists_methods():
    found, allowed = routes.match("PUT", "/v2.1/servers")
    assert found is None and sorted(allowed) == ["GET", "POST"]
    assert routes.match("GET", "/v2.1/nope") == (None, [])
    assert routes.match("POST", "/v2.1/servers/x/action")[0].handler is server_actions.action


def test_public_routes_are_only_version_documents():
    assert all(routes.is_public("GET", p) for p in ("/", "/v2.1", "/v2.1/"))
    assert not routes.is_public("GET", "/v2.1/servers")
    # Public by method: getting a token needs none, validating one does.
    assert routes.is_public("POST", "/identity/v3/auth/tokens")
    assert not routes.is_public("GET", "/identity/v3/auth/tokens")


def test_routes_are_unique():
    keys = [(r.method, r.template) for r in routes.ROUTES]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("token,user,project,expected", [
    ("alice:p1", None, None, ("alice", "p1", ["member", "reader"])),
    ("admin:adm", None, None, ("admin", "adm", ["admin", "member", "reader"])),
    (None, "bob", "p2", ("bob", "p2", ["member", "reader"])),
    (None, "bob", None, ("bob", "bob", ["member", "reader"])),
])
def test_noauth_identity(token, user, project, expected):
    identity = auth.identity_from_headers(token, user, project)
    assert (identity["user_id"], identity["project_id"], identity["roles"]) == expected


@pytest.mark.parametrize("token", ["garbled", ":p1", "u:", "u:p 1", "a b:c"])
def test_noauth_garbled(token):
    assert auth.identity_from_headers(token, "ignored", "ignored") is None


def test_noauth_missing():
    assert auth.identity_from_headers(None, None, "p") is None


def _conf(listen):
    conf = make_conf()
    conf.set_override("listen", listen, group="api")
    conf.set_override("auth_strategy", "noauth", group="api")
    return conf


@pytest.mark.parametrize("listen,ok", [("127.0.0.1", True), ("::1", True),
                                       ("localhost", True), ("127.8.9.1", True),
                                       ("0.0.0.0", False), ("10.1.2.3", False),
                                       ("example.com", False)])
def test_noauth_only_on_loopback(listen, ok):
    refusal = auth.check_listen(_conf(listen))
    assert (refusal is None) == ok
    if not ok:
        assert listen in refusal


def test_policy_rules_unique_and_documented():
    rules = policies.list_rules()
    names = [r.name for r in rules]
    assert len(names) == len(set(names))
    assert all(r.description for r in rules)


def _ctx(roles, project="p1"):
    return context.RequestContext(user_id="u", project_id=project, roles=roles,
                                  overwrite=False)


def test_policy_defaults(tmp_path):
    conf = _conf("127.0.0.1")
    conf.set_override("policy_file", str(tmp_path / "none.yaml"), group="api")
    enforcer = policies.make_enforcer(conf)
    own = {"project_id": "p1"}
    member, admin = _ctx(["member", "reader"]), _ctx(["admin", "member", "reader"])

    def can(rule, ctx, target=own):
        return enforcer.authorize(rule, target, ctx, do_raise=False)

    assert can("os_compute_api:servers:create", member)
    assert not can("os_compute_api:servers:create", member, {"project_id": "p2"})
    assert not can("os_compute_api:servers:create", _ctx(["reader"]))
    assert can("os_compute_api:servers:index", _ctx(["reader"]))
    assert not can("os_compute_api:os-services:list", member)
    assert can("os_compute_api:os-services:list", admin)
    assert not can("os_compute_api:os-flavor-manage:create", member)
    assert can("os_compute_api:servers:index:get_all_tenants", admin)
    assert can("context_is_admin", admin) and not can("context_is_admin", member)
