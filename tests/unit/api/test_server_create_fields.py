"""Fields a server create may set by microversion: the 2.90 hostname,
in-process (SQLite, recording conductor)."""

import pytest

from tests.unit.api.test_app import env  # noqa: F401  (fixture)


def _create(call, version, **kw):
    server = {"name": "My Server", "flavorRef": "1", "imageRef": "img"}
    server.update(kw)
    return call("POST", "/v2.1/servers", {"server": server}, version=version)


def _hostname(call, server_id, version="2.90"):
    _, body = call("GET", "/v2.1/servers/" + server_id, version=version)
    return body["server"].get("OS-EXT-SRV-ATTR:hostname")


def test_hostname_given_at_2_90_is_shown(env):  # noqa: F811
    call, _, _ = env
    resp, body = _create(call, "2.90", hostname="web-01")
    assert resp.status_int == 202
    server_id = body["server"]["id"]
    assert _hostname(call, server_id) == "web-01"
    _, listed = call("GET", "/v2.1/servers/detail", version="2.90")
    assert [s["OS-EXT-SRV-ATTR:hostname"] for s in listed["servers"]] == ["web-01"]
    # An admin sees the same at 2.3 (extended attributes).
    _, admin = call("GET", "/v2.1/servers/" + server_id, token="admin:admin",
                    version="2.3")
    assert admin["server"]["OS-EXT-SRV-ATTR:hostname"] == "web-01"


def test_without_a_hostname_it_comes_from_the_name(env):  # noqa: F811
    call, _, _ = env
    _, body = _create(call, "2.90")
    assert _hostname(call, body["server"]["id"]) == "my-server"


@pytest.mark.parametrize("hostname", [
    "", "-web", "web-", "web_01", "web.example.org", "a" * 64, "web 01", 42,
])
def test_invalid_hostname_is_400_naming_the_field(env, hostname):  # noqa: F811
    call, conductor, _ = env
    resp, body = _create(call, "2.90", hostname=hostname)
    assert resp.status_int == 400
    assert "hostname" in body["badRequest"]["message"]


@pytest.mark.parametrize("hostname", ["a", "web-01", "A1", "x" * 63])
def test_valid_hostnames(env, hostname):  # noqa: F811
    call, _, _ = env
    resp, body = _create(call, "2.90", hostname=hostname)
    assert resp.status_int == 202
    assert _hostname(call, body["server"]["id"]) == hostname


def test_hostname_before_2_90_is_400(env):  # noqa: F811
    call, _, _ = env
    resp, body = _create(call, "2.89", hostname="web-01")
    assert resp.status_int == 400
    assert "hostname" in body["badRequest"]["message"]


def test_hostname_with_several_servers_is_400(env):  # noqa: F811
    call, _, _ = env
    resp, body = _create(call, "2.90", hostname="web", max_count=2)
    assert resp.status_int == 400
    assert "hostname" in body["badRequest"]["message"]
    assert _create(call, "2.90", hostname="web", max_count=1)[0].status_int == 202


def _with_computes(db):
    from vmctl.db import compute_nodes as db_nodes
    from vmctl.db import services as db_services

    with db.transaction() as session:
        for host in ("cn1", "cn2"):
            db_services.register(session, host, "vmctl-compute", "vmctl-compute")
            db_nodes.update_inventory(session, host, host + ".node", {
                "hypervisor_type": "fake", "vcpus": 4, "memory_mb": 4096,
                "local_gb": 40, "availability_zone": "nova"})


def _requested_host(db, server_id):
    from vmctl.db import instances as db_instances

    with db.reader() as session:
        return db_instances.get(session, server_id).requested_host


@pytest.mark.parametrize("body, expected", [
    ({"host": "cn2"}, "cn2"),
    ({"hypervisor_hostname": "cn1.node"}, "cn1"),
    ({"host": "cn2", "hypervisor_hostname": "cn2.node"}, "cn2"),
    ({}, None),
])
def test_requested_destination_at_2_74_for_admins(env, body, expected):  # noqa: F811
    call, conductor, db = env
    _with_computes(db)
    server = dict({"name": "vm", "flavorRef": "1", "imageRef": "img"}, **body)
    resp, created = call("POST", "/v2.1/servers", {"server": server},
                         token="admin:admin", version="2.74")
    assert resp.status_int == 202, created
    assert _requested_host(db, created["server"]["id"]) == expected


@pytest.mark.parametrize("body, field", [
    ({"host": "nowhere"}, "host"),
    ({"hypervisor_hostname": "nowhere.node"}, "hypervisor_hostname"),
    ({"host": "cn1", "hypervisor_hostname": "cn2.node"}, "hypervisor_hostname"),
    ({"host": "bad host"}, "host"),
])
def test_unknown_destination_is_400_naming_the_field(env, body, field):  # noqa: F811
    call, _, db = env
    _with_computes(db)
    server = dict({"name": "vm", "flavorRef": "1", "imageRef": "img"}, **body)
    resp, out = call("POST", "/v2.1/servers", {"server": server},
                     token="admin:admin", version="2.74")
    assert resp.status_int == 400
    assert field in out["badRequest"]["message"]


def test_requested_destination_is_admin_only_and_from_2_74(env):  # noqa: F811
    call, _, db = env
    _with_computes(db)
    resp, _ = _create(call, "2.74", host="cn1")
    assert resp.status_int == 403
    resp, _ = _create(call, "2.74", hypervisor_hostname="cn1.node")
    assert resp.status_int == 403
    resp, out = call("POST", "/v2.1/servers", {"server": {
        "name": "vm", "flavorRef": "1", "imageRef": "img", "host": "cn1"}},
        token="admin:admin", version="2.73")
    assert resp.status_int == 400
    assert "host" in out["badRequest"]["message"]
