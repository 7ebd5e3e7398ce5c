"""Server create fields and evacuation by microversion, end to end on the
fake driver (real bus and database): the 2.74 requested host, the 2.90
hostname, and 2.95's evacuation of a stopped server that keeps it stopped.

compute1 and compute2 are ordinary; compute3 is too small for any flavor;
compute4 fails every spawn ([fake] fail_builds).
"""

import pytest

from tests.functional.test_cold_migration import _boot
from tests.functional.test_cold_migration import _wait_migration

SHUTDOWN = 4  # power_state of a guest that is shut off


SPAWN_EVENT = "compute_build_and_run_instance"


@pytest.fixture(scope="module")
def fields_cloud(cloud_factory):
    return cloud_factory("fields", computes=4, compute_conf={
        "compute3": {"fake": {"memory_mb": 256}},
        "compute4": {"fake": {"fail_builds": True}}})


def _create_on(api, name, status="ACTIVE", **destination):
    server = api.create_server(name, **destination)
    return api.wait_for_status(server["id"], status, timeout=60)


@pytest.mark.parametrize("host", ["compute1", "compute2"])
def test_create_on_a_requested_host(fields_cloud, host):
    api = fields_cloud.api(microversion="2.74")
    server = _create_on(api, "on-" + host, host=host)
    assert server["OS-EXT-SRV-ATTR:host"] == host
    assert server["id"] in fields_cloud.fake_guests(host)
    node = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]
    by_node = _create_on(api, "on-node-" + host, hypervisor_hostname=node)
    assert by_node["OS-EXT-SRV-ATTR:host"] == host
    for one in (server, by_node):
        api.delete("servers/%s" % one["id"])


def test_requested_host_is_admin_only_and_must_exist(fields_cloud):
    member = fields_cloud.api("alice", "project-a", microversion="2.74")
    body = {"name": "nope", "flavorRef": "1", "imageRef": "img", "host": "compute1"}
    assert member.post("servers", json={"server": body}).status_code == 403
    admin = fields_cloud.api(microversion="2.74")
    for field, value in (("host", "compute9"), ("hypervisor_hostname", "compute9")):
        resp = admin.post("servers", json={"server": {
            "name": "nope", "flavorRef": "1", "imageRef": "img", field: value}})
        assert resp.status_code == 400, resp.text
        assert field in resp.json()["badRequest"]["message"]
    old = fields_cloud.api(microversion="2.73")
    assert old.post("servers", json={"server": body}).status_code == 400


def test_requested_host_without_room_is_no_valid_host(fields_cloud):
    api = fields_cloud.api(microversion="2.74")
    server = _create_on(api, "too-big-here", status="ERROR", host="compute3")
    assert "No valid host" in server["fault"]["message"], server["fault"]
    assert server["OS-EXT-SRV-ATTR:host"] is None
    api.delete("servers/%s" % server["id"])


def test_a_failed_spawn_is_not_rescheduled_elsewhere(fields_cloud):
    api = fields_cloud.api(microversion="2.74")
    server = _create_on(api, "fails-here", status="ERROR", host="compute4")
    assert "No valid host" in server["fault"]["message"], server["fault"]
    spawns = [e for e in api.actions(server["id"])[0]["events"]
              if e["event"] == SPAWN_EVENT]
    assert [(e["result"], e["host"]) for e in spawns] == [("Error", "compute4")], spawns
    for host in ("compute1", "compute2", "compute3", "compute4"):
        assert server["id"] not in fields_cloud.fake_guests(host)
    api.delete("servers/%s" % server["id"])


def test_hostname_at_2_90_reaches_the_server(fields_cloud):
    api = fields_cloud.api(microversion="2.90")
    server = _boot(api, "Named Server", hostname="web-01", host="compute1")
    assert server["OS-EXT-SRV-ATTR:hostname"] == "web-01"
    plain = _boot(api, "Plain Server", host="compute2")
    assert plain["OS-EXT-SRV-ATTR:hostname"] == "plain-server"
    for body, version in (({"hostname": "web_01"}, "2.90"),
                          ({"hostname": "web-01"}, "2.89")):
        old = fields_cloud.api(microversion=version)
        resp = old.post("servers", json={"server": dict(
            body, name="bad", flavorRef="1", imageRef="img")})
        assert resp.status_code == 400, resp.text
        assert "hostname" in resp.text
    for server_id in (server["id"], plain["id"]):
        api.delete("servers/%s" % server_id)


def _evacuate_stopped(cloud, version):
    """Boot on compute1, stop it, kill the host, evacuate to compute2 at
    ``version``: (api, server, source)."""
    api = cloud.api(microversion=version)
    server = _boot(api, "evacuate-stopped-%s" % version, host="compute1")
    source = server["OS-EXT-SRV-ATTR:host"]
    assert api.action(server["id"], {"os-stop": None}).status_code == 202
    api.wait_for_status(server["id"], "SHUTOFF")
    service = api.get("os-services?binary=vmctl-compute&host=%s" % source).json()[
        "services"][0]
    cloud.stop_compute(source)
    api.put("os-services/%s" % service["id"], json={"forced_down": True})
    try:
        resp = api.action(server["id"], {"evacuate": {"host": "compute2"}})
        assert resp.status_code in (200, 204), resp.text
        migration = _wait_migration(api, server["id"], ("done", "error", "completed"),
                                    timeout=60)
        assert migration["status"] == "done", migration
    finally:
        api.put("os-services/%s" % service["id"], json={"forced_down": False})
        cloud.start_compute(source)
    return api, server, source


@pytest.mark.parametrize("version, status, power", [
    ("2.95", "SHUTOFF", SHUTDOWN),
    ("2.94", "ACTIVE", 1),
])
def test_evacuate_of_a_stopped_server(fields_cloud, version, status, power):
    api, server, source = _evacuate_stopped(fields_cloud, version)
    moved = api.wait_for_status(server["id"], status)
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert (source, dest) == ("compute1", "compute2")
    assert moved["OS-EXT-STS:power_state"] == power
    assert fields_cloud.fake_guests(dest)[server["id"]]["power_state"] == power
    assert _wait_migration(api, server["id"], ("completed",), timeout=60)
    api.delete("servers/%s" % server["id"])
