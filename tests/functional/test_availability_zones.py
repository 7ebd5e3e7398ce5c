"""Availability zones from aggregates, end to end: the zone list and detail,
booting into a zone, and the zone shown on servers and services."""

import pytest

NOAUTH = {"api": {"auth_strategy": "noauth"}}
VERSION = "2.96"


@pytest.fixture(scope="module")
def az_cloud(cloud_factory):
    cloud = cloud_factory("azs", computes=3, conf_overrides=NOAUTH)
    api = cloud.api(microversion=VERSION)
    resp = api.post("os-aggregates", json={"aggregate": {"name": "rack2",
                                                         "availability_zone": "az1"}})
    assert resp.status_code == 200, resp.text
    agg = resp.json()["aggregate"]
    resp = api.post("os-aggregates/%s/action" % agg["id"],
                    json={"add_host": {"host": "compute2"}})
    assert resp.status_code == 200, resp.text
    return cloud


@pytest.fixture(autouse=True)
def _empty(az_cloud):
    az_cloud.delete_all_servers()


def test_zone_list_and_detail(az_cloud):
    api = az_cloud.api(microversion=VERSION)
    zones = api.get("os-availability-zone").json()["availabilityZoneInfo"]
    assert zones == [
        {"zoneName": "az1", "zoneState": {"available": True}, "hosts": None},
        {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    member = az_cloud.api("alice", "p1", microversion=VERSION)
    assert member.get("os-availability-zone").status_code == 200
    assert member.get("os-availability-zone/detail").status_code == 403

    detail = api.get("os-availability-zone/detail").json()["availabilityZoneInfo"]
    by_name = {z["zoneName"]: z for z in detail}
    assert set(by_name) == {"az1", "nova", "internal"}
    assert set(by_name["az1"]["hosts"]) == {"compute2"}
    assert set(by_name["nova"]["hosts"]) == {"compute1", "compute3"}
    internal = by_name["internal"]["hosts"]["controller"]
    assert {"vmctl-conductor", "vmctl-scheduler"} <= set(internal)
    compute = by_name["az1"]["hosts"]["compute2"]["vmctl-compute"]
    assert compute["available"] is True and compute["active"] is True
    assert compute["updated_at"]


def test_services_show_the_zones(az_cloud):
    api = az_cloud.api(microversion=VERSION)
    zones = {(s["host"], s["binary"]): s["zone"]
             for s in api.get("os-services").json()["services"]}
    assert zones[("compute2", "vmctl-compute")] == "az1"
    assert zones[("compute1", "vmctl-compute")] == "nova"
    assert zones[("controller", "vmctl-conductor")] == "internal"


def test_boot_into_a_zone_lands_there(az_cloud):
    api = az_cloud.api(microversion=VERSION)
    for index in range(3):
        server = api.create_server("in-az1-%d" % index, availability_zone="az1")
        server = api.wait_for_status(server["id"], "ACTIVE", timeout=60)
        assert server["OS-EXT-SRV-ATTR:host"] == "compute2"
        assert server["OS-EXT-AZ:availability_zone"] == "az1"
        assert server["pinned_availability_zone"] == "az1"


def test_boot_without_zone_shows_the_hosts_zone(az_cloud):
    api = az_cloud.api(microversion=VERSION)
    servers = [api.create_server("any-%d" % i) for i in range(3)]
    for server in servers:
        server = api.wait_for_status(server["id"], "ACTIVE", timeout=60)
        expected = "az1" if server["OS-EXT-SRV-ATTR:host"] == "compute2" else "nova"
        assert server["OS-EXT-AZ:availability_zone"] == expected
        assert server["pinned_availability_zone"] is None


def test_unknown_zone_is_400(az_cloud):
    api = az_cloud.api(microversion=VERSION)
    resp = api.post("servers", json={"server": {"name": "x", "flavorRef": "1",
                                                "imageRef": "img",
                                                "availability_zone": "nowhere"}})
    assert resp.status_code == 400
    assert "availability zone is not available" in resp.json()["badRequest"]["message"]
