"""Server groups, aggregates, availability zones and the server shapes of
2.63-2.100, in-process (SQLite, recording conductor)."""

import pytest

from tests.unit.api.test_app import _create
from tests.unit.api.test_app import env  # noqa: F401  (fixture)
from vmctl.db import compute_nodes as db_nodes
from vmctl.db import instances as db_instances
from vmctl.db import services as db_services

ADMIN = "admin:admin"


@pytest.fixture
def cloud(env):  # noqa: F811
    """Two compute hosts (cn1, cn2) reporting zone nova."""
    call, conductor, db = env
    with db.transaction() as session:
        for host in ("cn1", "cn2"):
            db_services.register(session, host, "vmctl-compute", "vmctl-compute")
            db_nodes.update_inventory(session, host, host, {
                "hypervisor_type": "fake", "vcpus": 4, "memory_mb": 4096,
                "local_gb": 40, "availability_zone": "nova"})
        db_services.register(session, "ctl", "vmctl-conductor", "vmctl-conductor")
    return call, conductor, db


def _group(call, version="2.64", token="bob:p1", **body):
    body.setdefault("name", "g")
    if version >= "2.64" and "policies" not in body:
        body.setdefault("policy", "anti-affinity")
    return call("POST", "/v2.1/os-server-groups", {"server_group": body}, token=token,
                version=version)


def test_server_group_shape_before_and_after_2_64(cloud):
    call, _, _ = cloud
    resp, old = _group(call, version="2.15", policies=["soft-affinity"])
    assert resp.status_int == 200
    assert set(old["server_group"]) == {"id", "name", "policies", "members", "metadata",
                                        "project_id", "user_id"}
    assert old["server_group"]["policies"] == ["soft-affinity"]
    resp, new = _group(call, rules={"max_server_per_host": 2})
    assert resp.status_int == 200
    assert set(new["server_group"]) == {"id", "name", "policy", "rules", "members",
                                        "project_id", "user_id"}
    assert new["server_group"]["rules"] == {"max_server_per_host": 2}
    _, shown = call("GET", "/v2.1/os-server-groups/" + new["server_group"]["id"],
                    version="2.64")
    assert shown == new


@pytest.mark.parametrize("version, body, field", [
    ("2.14", {"policies": ["soft-affinity"]}, "policies"),
    ("2.64", {"policies": ["affinity"]}, "policies"),
    ("2.64", {"policy": "sideways"}, "policy"),
    ("2.64", {"policy": "anti-affinity", "rules": {"max_server_per_host": 0}},
     "max_server_per_host"),
    ("2.64", {"policy": "affinity", "rules": {"max_server_per_host": 2}}, "rules"),
])
def test_server_group_validation(cloud, version, body, field):
    call, _, _ = cloud
    resp, out = _group(call, version=version, **body)
    assert resp.status_int == 400 and field in out["badRequest"]["message"]


def test_server_groups_are_per_project(cloud):
    call, _, _ = cloud
    gid = _group(call)[1]["server_group"]["id"]
    assert call("GET", "/v2.1/os-server-groups/" + gid, token="eve:p2")[0].status_int == 404
    _, theirs = call("GET", "/v2.1/os-server-groups", token="eve:p2")
    assert theirs["server_groups"] == []
    assert call("GET", "/v2.1/os-server-groups?all_projects=1",
                token="eve:p2")[0].status_int == 403
    _, every = call("GET", "/v2.1/os-server-groups?all_projects=1", token=ADMIN)
    assert [g["id"] for g in every["server_groups"]] == [gid]
    assert call("DELETE", "/v2.1/os-server-groups/" + gid, token="eve:p2")[0].status_int == 404
    assert call("DELETE", "/v2.1/os-server-groups/" + gid)[0].status_int == 204
    assert call("GET", "/v2.1/os-server-groups/" + gid)[0].status_int == 404


def test_boot_with_group_hint_joins_the_group(cloud):
    call, _, db = cloud
    gid = _group(call)[1]["server_group"]["id"]
    body = {"server": {"name": "vm", "flavorRef": "1", "imageRef": "img", "max_count": 2},
            "os:scheduler_hints": {"group": gid}}
    resp, out = call("POST", "/v2.1/servers", body)
    assert resp.status_int == 202
    _, group = call("GET", "/v2.1/os-server-groups/" + gid)
    assert len(group["server_group"]["members"]) == 2
    assert out["server"]["id"] in group["server_group"]["members"]
    _, server = call("GET", "/v2.1/servers/" + out["server"]["id"], version="2.100")
    assert server["server"]["scheduler_hints"] == {"group": [gid]}
    assert server["server"]["server_groups"] == [gid]
    _, listed = call("GET", "/v2.1/servers/detail", version="2.100")
    assert "server_groups" not in listed["servers"][0]   # shown by show only
    assert listed["servers"][0]["scheduler_hints"] == {"group": [gid]}
    # A deleted member is no member.
    with db.transaction() as session:
        db_instances.soft_delete(session, out["server"]["id"])
    _, group = call("GET", "/v2.1/os-server-groups/" + gid)
    assert out["server"]["id"] not in group["server_group"]["members"]


def test_boot_with_unknown_or_foreign_group_is_400(cloud):
    call, _, _ = cloud
    gid = _group(call, token="eve:p2")[1]["server_group"]["id"]
    for group in (gid, "9b0f2a8e-3a4e-4a55-9d55-3f3c7f1f0c7e"):
        body = {"server": {"name": "vm", "flavorRef": "1", "imageRef": "img"},
                "os:scheduler_hints": {"group": group}}
        resp, out = call("POST", "/v2.1/servers", body)
        assert resp.status_int == 400 and "server group" in out["badRequest"]["message"]


def _aggregate(call, name="agg", zone=None):
    body = {"name": name}
    if zone:
        body["availability_zone"] = zone
    return call("POST", "/v2.1/os-aggregates", {"aggregate": body}, token=ADMIN,
                version="2.41")


def _agg_action(call, agg_id, name, value):
    return call("POST", "/v2.1/os-aggregates/%s/action" % agg_id, {name: value},
                token=ADMIN, version="2.41")


def test_aggregates_make_zones(cloud):
    call, _, _ = cloud
    resp, agg = _aggregate(call, zone="az1")
    assert resp.status_int == 200 and agg["aggregate"]["availability_zone"] == "az1"
    assert "uuid" in agg["aggregate"]
    assert _aggregate(call)[0].status_int == 409
    agg_id = agg["aggregate"]["id"]
    assert _agg_action(call, agg_id, "add_host", {"host": "nosuch"})[0].status_int == 404
    resp, out = _agg_action(call, agg_id, "add_host", {"host": "cn1"})
    assert resp.status_int == 200 and out["aggregate"]["hosts"] == ["cn1"]
    assert _agg_action(call, agg_id, "add_host", {"host": "cn1"})[0].status_int == 409
    # cn1 cannot be in a second zone.
    other = _aggregate(call, "other", zone="az2")[1]["aggregate"]["id"]
    assert _agg_action(call, other, "add_host", {"host": "cn1"})[0].status_int == 409
    _, zones = call("GET", "/v2.1/os-availability-zone")
    assert zones["availabilityZoneInfo"] == [
        {"zoneName": "az1", "zoneState": {"available": True}, "hosts": None},
        {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    _, listed = call("GET", "/v2.1/os-aggregates", token=ADMIN)
    assert [a["name"] for a in listed["aggregates"]] == ["agg", "other"]
    assert "uuid" not in listed["aggregates"][0]
    assert call("GET", "/v2.1/os-aggregates")[0].status_int == 403


def test_availability_zone_detail_is_admin_and_has_internal(cloud):
    call, _, _ = cloud
    assert call("GET", "/v2.1/os-availability-zone/detail")[0].status_int == 403
    _, detail = call("GET", "/v2.1/os-availability-zone/detail", token=ADMIN)
    by_name = {z["zoneName"]: z for z in detail["availabilityZoneInfo"]}
    assert set(by_name) == {"internal", "nova"}
    assert set(by_name["internal"]["hosts"]) == {"ctl"}
    assert set(by_name["nova"]["hosts"]) == {"cn1", "cn2"}
    service = by_name["nova"]["hosts"]["cn1"]["vmctl-compute"]
    assert set(service) == {"available", "active", "updated_at"}


def test_boot_into_zones(cloud):
    call, _, _ = cloud
    resp, out = _create(call, availability_zone="nowhere")
    assert resp.status_int == 400
    assert "availability zone is not available" in out["badRequest"]["message"]
    agg_id = _aggregate(call, zone="az1")[1]["aggregate"]["id"]
    _agg_action(call, agg_id, "add_host", {"host": "cn2"})
    assert _create(call, availability_zone="az1")[0].status_int == 202
    # A zone with only disabled computes is not available either.
    _, services = call("GET", "/v2.1/os-services?host=cn2", token=ADMIN, version="2.53")
    call("PUT", "/v2.1/os-services/" + services["services"][0]["id"],
         {"status": "disabled"}, token=ADMIN, version="2.53")
    assert _create(call, availability_zone="az1")[0].status_int == 400
    _, zones = call("GET", "/v2.1/os-availability-zone")
    assert {"zoneName": "az1", "zoneState": {"available": False}, "hosts": None} in (
        zones["availabilityZoneInfo"])


def test_server_shape_from_2_63_to_2_100(cloud):
    call, _, db = cloud
    server_id = _create(call, availability_zone="nova")[1]["server"]["id"]
    plain_id = _create(call)[1]["server"]["id"]
    with db.transaction() as session:
        db_instances.compare_and_swap(session, plain_id, {"host": "cn1", "node": "cn1"})

    def show(sid, version):
        return call("GET", "/v2.1/servers/" + sid, version=version)[1]["server"]

    old = show(server_id, "2.62")
    assert not {"trusted_image_certificates", "pinned_availability_zone",
                "scheduler_hints", "OS-EXT-SRV-ATTR:hostname"} & set(old)
    assert "properties" not in old["image"]
    new = show(server_id, "2.100")
    assert new["trusted_image_certificates"] is None
    assert new["pinned_availability_zone"] == "nova"
    assert new["scheduler_hints"] == {}
    assert new["OS-EXT-SRV-ATTR:hostname"] == "vm"
    assert new["image"]["properties"] == {}
    assert new["OS-EXT-AZ:availability_zone"] == "nova"
    plain = show(plain_id, "2.96")
    assert plain["pinned_availability_zone"] is None
    assert plain["OS-EXT-AZ:availability_zone"] == "nova"   # the host's zone
    assert "scheduler_hints" not in plain
    assert show(plain_id, "2.89").get("OS-EXT-SRV-ATTR:hostname") is None
    assert show(plain_id, "2.71")["server_groups"] == []
    assert "server_groups" not in show(plain_id, "2.70")


def test_host_status_from_2_16_for_admins(cloud):
    call, _, db = cloud
    server_id = _create(call)[1]["server"]["id"]

    def status(version, token=ADMIN):
        return call("GET", "/v2.1/servers/" + server_id, token=token,
                    version=version)[1]["server"].get("host_status", "-")

    assert status("2.16") == ""          # not placed yet
    with db.transaction() as session:
        db_instances.compare_and_swap(session, server_id, {"host": "cn1", "node": "cn1"})
        db_services.heartbeat(session, "cn1", "vmctl-compute")
    assert status("2.15") == "-"
    assert status("2.16") == "UP"
    assert status("2.16", token="bob:p1") == "-"
    with db.transaction() as session:
        db_services.list_all(session, host="cn1")[0].disabled = True
    assert status("2.100") == "MAINTENANCE"


def test_huge_ids_and_offsets_are_4xx_not_500(cloud):
    call, _, _ = cloud
    assert call("GET", "/v2.1/os-aggregates/99999999999999999999999",
                token=ADMIN)[0].status_int == 404
    assert call("GET", "/v2.1/os-server-groups?offset=99999999999999999999999")[0].status_int == 400
    assert call("GET", "/v2.1/os-server-groups?offset=-1")[0].status_int == 400
    resp = call("POST", "/v2.1/os-aggregates/1/action", [1], token=ADMIN)[0]
    assert resp.status_int in (400, 404)


def test_a_host_with_pinned_servers_keeps_its_zone(cloud):
    call, _, db = cloud
    agg_id = _aggregate(call, zone="az1")[1]["aggregate"]["id"]
    _agg_action(call, agg_id, "add_host", {"host": "cn1"})
    server_id = _create(call, availability_zone="az1")[1]["server"]["id"]
    with db.transaction() as session:
        db_instances.compare_and_swap(session, server_id, {"host": "cn1", "node": "cn1"})
    resp, out = _agg_action(call, agg_id, "remove_host", {"host": "cn1"})
    assert resp.status_int == 409 and server_id in out["conflictingRequest"]["message"]
    assert _agg_action(call, agg_id, "set_metadata",
                       {"metadata": {"availability_zone": "az2"}})[0].status_int == 409
    resp = call("PUT", "/v2.1/os-aggregates/%s" % agg_id,
                {"aggregate": {"availability_zone": "az3"}}, token=ADMIN)[0]
    assert resp.status_int == 409
    _, agg = call("GET", "/v2.1/os-aggregates/%s" % agg_id, token=ADMIN)
    assert agg["aggregate"]["hosts"] == ["cn1"]          # rolled back
    assert agg["aggregate"]["availability_zone"] == "az1"
    # Other metadata, and a server in no zone, are no obstacle.
    assert _agg_action(call, agg_id, "set_metadata",
                       {"metadata": {"ssd": "true"}})[0].status_int == 200
    with db.transaction() as session:
        db_instances.compare_and_swap(session, server_id, {"availability_zone": None})
    assert _agg_action(call, agg_id, "remove_host", {"host": "cn1"})[0].status_int == 200
