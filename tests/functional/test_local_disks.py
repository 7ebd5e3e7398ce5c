"""A flavor's ephemeral and swap disks end to end on the fake driver (real
bus and database): made at boot, carried by cold migration and live
migration, grown by a resize (never shrunk: 400), restored by a revert.

The fake hypervisor records them in its guest state as ``local_disks``
(vmctl/virt/fake_disks.py); the claims count them as the scheduler does.
"""

import time

import pytest

VERSION = "2.88"
TERMINAL = ("confirmed", "reverted", "error", "completed", "failed", "cancelled")


@pytest.fixture(scope="module")
def disk_cloud(cloud_factory):
    cloud = cloud_factory("local-disks", computes=2)
    api = cloud.api(microversion=VERSION)
    for name, ephemeral, swap in (("eph.small", 1, 512), ("eph.large", 2, 1024),
                                  ("eph.noswap", 2, 0), ("eph.smallswap", 2, 256)):
        resp = api.post("flavors", json={"flavor": {
            "name": name, "id": name, "ram": 512, "vcpus": 1, "disk": 1,
            "OS-FLV-EXT-DATA:ephemeral": ephemeral, "swap": swap}})
        assert resp.status_code == 200, resp.text
    return cloud


def _disks(ephemeral_gb, swap_mb):
    disks = {"vdb": {"kind": "ephemeral", "size_mb": ephemeral_gb * 1024, "format": "ext4"}}
    if swap_mb:
        disks["vdc"] = {"kind": "swap", "size_mb": swap_mb, "format": "swap"}
    return disks


def _boot(cloud, name):
    api = cloud.api(microversion=VERSION)
    server = api.create_server(name, flavor="eph.small")
    server = api.wait_for_status(server["id"], "ACTIVE")
    guest = cloud.fake_guests(server["OS-EXT-SRV-ATTR:host"])[server["id"]]
    assert guest["local_disks"] == _disks(1, 512)
    return api, server


def _latest_migration(api, server_id, statuses, timeout=30):
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        found = api.get("os-migrations?instance_uuid=%s" % server_id).json()["migrations"]
        if found and found[0]["status"] in statuses:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("migration of %s never reached %s: %s" % (server_id, statuses, found))


def _move(api, server_id, body):
    resp = api.action(server_id, body)
    assert resp.status_code == 202, resp.text
    migration = _latest_migration(api, server_id, ("finished",) + TERMINAL)
    assert migration["status"] == "finished", migration
    return api.wait_for_status(server_id, "VERIFY_RESIZE")


def test_cold_migration_carries_them(disk_cloud):
    api, server = _boot(disk_cloud, "eph-migrate")
    moved = _move(api, server["id"], {"migrate": None})
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert dest != server["OS-EXT-SRV-ATTR:host"]
    assert disk_cloud.fake_guests(dest)[server["id"]]["local_disks"] == _disks(1, 512)
    assert api.action(server["id"], {"confirmResize": None}).status_code == 204
    api.wait_for_status(server["id"], "ACTIVE")


def test_resize_grows_them_and_revert_restores_them(disk_cloud):
    api, server = _boot(disk_cloud, "eph-resize")
    source = server["OS-EXT-SRV-ATTR:host"]
    moved = _move(api, server["id"], {"resize": {"flavorRef": "eph.large"}})
    assert (moved["flavor"]["ephemeral"], moved["flavor"]["swap"]) == (2, 1024)
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert disk_cloud.fake_guests(dest)[server["id"]]["local_disks"] == _disks(2, 1024)
    assert api.action(server["id"], {"revertResize": None}).status_code == 202
    assert _latest_migration(api, server["id"], TERMINAL)["status"] == "reverted"
    back = api.wait_for_status(server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == source
    assert (back["flavor"]["ephemeral"], back["flavor"]["swap"]) == (1, 512)
    assert disk_cloud.fake_guests(source)[server["id"]]["local_disks"] == _disks(1, 512)


def test_resize_to_smaller_ephemeral_or_swap_is_refused(disk_cloud):
    api = disk_cloud.api(microversion=VERSION)
    server = api.create_server("eph-shrink", flavor="eph.large")
    server = api.wait_for_status(server["id"], "ACTIVE")
    resp = api.action(server["id"], {"resize": {"flavorRef": "eph.small"}})
    assert resp.status_code == 400, resp.text
    assert "smaller ephemeral disk (OS-FLV-EXT-DATA:ephemeral)" in resp.text
    for flavor in ("eph.noswap", "eph.smallswap"):
        resp = api.action(server["id"], {"resize": {"flavorRef": flavor}})
        assert resp.status_code == 400, resp.text
        assert "smaller swap disk (swap)" in resp.text and "1024 MB" in resp.text
    assert api.server(server["id"])["status"] == "ACTIVE"
    assert api.get("os-migrations?instance_uuid=%s" % server["id"]).json()["migrations"] == []


def test_live_migration_keeps_them(disk_cloud):
    api, server = _boot(disk_cloud, "eph-live")
    resp = api.post("servers/%s/action" % server["id"],
                    json={"os-migrateLive": {"host": None, "block_migration": "auto"}})
    assert resp.status_code == 202, resp.text
    assert _latest_migration(api, server["id"], TERMINAL)["status"] == "completed"
    moved = api.wait_for_status(server["id"], "ACTIVE")
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert dest != server["OS-EXT-SRV-ATTR:host"]
    assert disk_cloud.fake_guests(dest)[server["id"]]["local_disks"] == _disks(1, 512)
