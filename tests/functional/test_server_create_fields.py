"""Server create fields and evacuation by microversion, end to end on the
fake driver (real bus and database): the 2.90 hostname, and 2.95's
evacuation of a stopped server that keeps it stopped."""

import pytest

from tests.functional.test_cold_migration import _boot
from tests.functional.test_cold_migration import _wait_migration

SHUTDOWN = 4  # power_state of a guest that is shut off


@pytest.fixture(scope="module")
def fields_cloud(cloud_factory):
    return cloud_factory("fields", computes=3)


def test_hostname_at_2_90_reaches_the_server(fields_cloud):
    api = fields_cloud.api(microversion="2.90")
    server = _boot(api, "Named Server", hostname="web-01")
    assert server["OS-EXT-SRV-ATTR:hostname"] == "web-01"
    plain = _boot(api, "Plain Server")
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
    """Boot, stop, kill the host, evacuate at ``version``: (server, source)."""
    api = cloud.api(microversion=version)
    server = _boot(api, "evacuate-stopped-%s" % version)
    source = server["OS-EXT-SRV-ATTR:host"]
    assert api.action(server["id"], {"os-stop": None}).status_code == 202
    api.wait_for_status(server["id"], "SHUTOFF")
    service = api.get("os-services?binary=vmctl-compute&host=%s" % source).json()[
        "services"][0]
    cloud.stop_compute(source)
    api.put("os-services/%s" % service["id"], json={"forced_down": True})
    try:
        resp = api.action(server["id"], {"evacuate": {}})
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
    assert dest != source
    assert moved["OS-EXT-STS:power_state"] == power
    assert fields_cloud.fake_guests(dest)[server["id"]]["power_state"] == power
    assert _wait_migration(api, server["id"], ("completed",), timeout=60)
    api.delete("servers/%s" % server["id"])
