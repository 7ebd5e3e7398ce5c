"""Cold migration, resize (confirm, revert) and evacuation end to end on the
fake driver (real bus and database).

The fake hypervisor models the disk (bytes derived from a seed, copied
through disk_transfer with a token and a SHA-256 check); what a source
keeps for a revert is in its ``-held`` state file, apart from the guests it
runs. After every test the invariants of DESIGN.md are checked.
"""

import signal
import time

import pytest

VERSION = "2.88"
TERMINAL = ("confirmed", "reverted", "error", "completed", "done")


@pytest.fixture(scope="module")
def cold_cloud(cloud_factory):
    return cloud_factory("cold", computes=3)


@pytest.fixture(scope="module")
def lone_cloud(cloud_factory):
    """One compute that allows resizing in place; resizes confirm by themselves."""
    return cloud_factory("cold-lone", computes=["lone1"], conf_overrides={
        "DEFAULT": {"allow_resize_to_same_host": True, "resize_confirm_window": 2}})


def held(cloud, host):
    return cloud.fake_state("virt-%s-held" % host)


def _boot(api, name, flavor="1", **extra):
    server = api.create_server(name, flavor=flavor, **extra)
    return api.wait_for_status(server["id"], "ACTIVE")


def _migrations(api, server_id):
    return api.get("os-migrations?instance_uuid=%s" % server_id).json()["migrations"]


def _wait_migration(api, server_id, statuses, timeout=30):
    deadline = time.monotonic() + timeout
    latest = None
    while time.monotonic() < deadline:
        found = _migrations(api, server_id)
        latest = found[0] if found else None
        if latest and latest["status"] in statuses:
            return latest
        time.sleep(0.05)
    raise AssertionError("migration of %s never reached %s: %s" % (server_id, statuses,
                                                                   latest))


def _claims(cloud, consumer):
    """{host: (vcpus, memory_mb, disk_gb)} the consumer holds."""
    import sqlalchemy

    from vmctl.db import models

    with cloud.db().reader() as session:
        rows = session.execute(
            sqlalchemy.select(models.ComputeNode.host, models.ResourceClaim)
            .join(models.ResourceClaim,
                  models.ResourceClaim.compute_node_id == models.ComputeNode.id)
            .where(models.ResourceClaim.consumer_uuid == consumer)).all()
    return {host: (c.vcpus, c.memory_mb, c.disk_gb) for host, c in rows}


def _events(api, server_id, action):
    actions = api.get("servers/%s/os-instance-actions" % server_id).json()["instanceActions"]
    found = [a for a in actions if a["action"] == action][0]
    one = api.get("servers/%s/os-instance-actions/%s" % (
        server_id, found["request_id"])).json()["instanceAction"]
    return [(e["event"], e["result"], e.get("details")) for e in one["events"]]


def _resize_and_wait(api, server_id, body):
    resp = api.action(server_id, body)
    assert resp.status_code == 202, resp.text
    migration = _wait_migration(api, server_id, ("finished",) + TERMINAL)
    assert migration["status"] == "finished", (migration, _events(
        api, server_id, next(iter(body))))
    return api.wait_for_status(server_id, "VERIFY_RESIZE"), migration


def test_migrate_and_confirm(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-basic")
    source = server["OS-EXT-SRV-ATTR:host"]
    moved, migration = _resize_and_wait(api, server["id"], {"migrate": None})
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert dest != source and dest == migration["dest_compute"]
    assert migration["migration_type"] == "migration"
    assert server["id"] in cold_cloud.fake_guests(dest)
    assert server["id"] not in cold_cloud.fake_guests(source)
    assert held(cold_cloud, source)[server["id"]]["migration_uuid"] == migration["uuid"]
    disk = cold_cloud.fake_guests(dest)[server["id"]]["disk"]
    assert disk["sha256"] and disk["size_gb"] == 1
    # During VERIFY_RESIZE: the instance holds the destination, the migration the source.
    assert _claims(cold_cloud, server["id"]) == {dest: (1, 512, 1)}
    assert _claims(cold_cloud, migration["uuid"]) == {source: (1, 512, 1)}
    assert api.action(server["id"], {"confirmResize": None}).status_code == 204
    assert _wait_migration(api, server["id"], TERMINAL)["status"] == "confirmed"
    done = api.wait_for_status(server["id"], "ACTIVE")
    assert done["OS-EXT-SRV-ATTR:host"] == dest
    assert server["id"] not in held(cold_cloud, source)
    assert _claims(cold_cloud, migration["uuid"]) == {}
    events = [e for e, _, _ in _events(api, server["id"], "migrate")]
    assert events == ["conductor_migrate_server", "compute_resize_instance",
                      "compute_finish_resize"]


def test_resize_up_and_confirm(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-resize")
    source = server["OS-EXT-SRV-ATTR:host"]
    moved, migration = _resize_and_wait(api, server["id"], {"resize": {"flavorRef": "2"}})
    assert migration["migration_type"] == "resize"
    assert migration["old_instance_type_id"] == "1"
    assert migration["new_instance_type_id"] == "2"
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert moved["flavor"]["original_name"] == "m1.small"
    guest = cold_cloud.fake_guests(dest)[server["id"]]
    assert (guest["memory_mb"], guest["vcpus"], guest["disk"]["size_gb"]) == (2048, 1, 20)
    assert _claims(cold_cloud, server["id"]) == {dest: (1, 2048, 20)}
    assert api.action(server["id"], {"confirmResize": None}).status_code == 204
    api.wait_for_status(server["id"], "ACTIVE")
    assert _claims(cold_cloud, server["id"]) == {dest: (1, 2048, 20)}
    assert _claims(cold_cloud, migration["uuid"]) == {}
    assert source not in _claims(cold_cloud, server["id"])


def test_resize_and_revert(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-revert")
    source = server["OS-EXT-SRV-ATTR:host"]
    before = cold_cloud.fake_guests(source)[server["id"]]
    moved, migration = _resize_and_wait(api, server["id"], {"resize": {"flavorRef": "3"}})
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert api.action(server["id"], {"revertResize": None}).status_code == 202
    assert _wait_migration(api, server["id"], TERMINAL)["status"] == "reverted"
    back = api.wait_for_status(server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == source
    assert back["flavor"]["original_name"] == "m1.tiny"
    after = cold_cloud.fake_guests(source)[server["id"]]
    assert after["power_state"] == before["power_state"] == 1
    assert (after["memory_mb"], after["vcpus"]) == (512, 1)
    assert server["id"] not in cold_cloud.fake_guests(dest)
    assert server["id"] not in held(cold_cloud, source)
    assert _claims(cold_cloud, server["id"]) == {source: (1, 512, 1)}
    assert _claims(cold_cloud, migration["uuid"]) == {}


def test_stopped_server_stays_stopped(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-stopped")
    api.action(server["id"], {"os-stop": None})
    api.wait_for_status(server["id"], "SHUTOFF")
    moved, _ = _resize_and_wait(api, server["id"], {"migrate": None})
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert cold_cloud.fake_guests(dest)[server["id"]]["power_state"] == 4
    assert api.action(server["id"], {"confirmResize": None}).status_code == 204
    done = api.wait_for_status(server["id"], "SHUTOFF")
    assert done["OS-EXT-SRV-ATTR:host"] == dest


def test_refusals(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-refused", flavor="2")
    resp = api.action(server["id"], {"resize": {"flavorRef": "1"}})
    assert resp.status_code == 400 and "flavorRef" in resp.text, resp.text
    assert "smaller root disk" in resp.text
    resp = api.action(server["id"], {"resize": {"flavorRef": "2"}})
    assert resp.status_code == 400 and "must change flavor" in resp.text
    resp = api.action(server["id"], {"resize": {"flavorRef": "nope"}})
    assert resp.status_code == 400
    resp = api.action(server["id"], {"migrate": {"host": server["OS-EXT-SRV-ATTR:host"]}})
    assert resp.status_code == 400
    assert api.action(server["id"], {"confirmResize": None}).status_code == 409
    member = cold_cloud.api(user="u1", project="admin", microversion=VERSION)
    assert member.action(server["id"], {"migrate": None}).status_code == 403
    old = cold_cloud.api(microversion="2.55")
    assert old.action(server["id"], {"migrate": {"host": "compute1"}}).status_code == 400
    resp = api.action(server["id"], {"evacuate": {}})
    assert resp.status_code == 400 and "still in use" in resp.text


def test_migrate_to_a_named_host(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-named")
    dest = next(h for h in cold_cloud.computes if h != server["OS-EXT-SRV-ATTR:host"])
    moved, _ = _resize_and_wait(api, server["id"], {"migrate": {"host": dest}})
    assert moved["OS-EXT-SRV-ATTR:host"] == dest
    assert api.action(server["id"], {"revertResize": None}).status_code == 202
    api.wait_for_status(server["id"], "ACTIVE")


@pytest.mark.parametrize("faults", ["corrupt:1", "break:2"])
def test_a_spoiled_transfer_is_retried_or_resumed(cold_cloud, faults):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-retry", metadata={"fake_transfer_faults": faults})
    moved, _ = _resize_and_wait(api, server["id"], {"migrate": None})
    source = server["OS-EXT-SRV-ATTR:host"]
    kept = held(cold_cloud, source)[server["id"]]["disk"]["seed"]
    guest = cold_cloud.fake_guests(moved["OS-EXT-SRV-ATTR:host"])[server["id"]]
    assert guest["disk"]["seed"] == kept
    assert api.action(server["id"], {"confirmResize": None}).status_code == 204
    api.wait_for_status(server["id"], "ACTIVE")


def test_a_failed_finish_rolls_back_to_the_source(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-rollback", metadata={"fake_transfer_faults": "corrupt:9"})
    source = server["OS-EXT-SRV-ATTR:host"]
    assert api.action(server["id"], {"resize": {"flavorRef": "2"}}).status_code == 202
    assert _wait_migration(api, server["id"], TERMINAL)["status"] == "error"
    back = api.wait_for_status(server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == source
    assert back["flavor"]["original_name"] == "m1.tiny"
    details = [d for _, r, d in _events(api, server["id"], "resize") if r == "Error"]
    assert any("disk transfer" in (d or "") for d in details), details


def test_delete_mid_resize_frees_both_hosts(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-delete")
    source = server["OS-EXT-SRV-ATTR:host"]
    moved, migration = _resize_and_wait(api, server["id"], {"resize": {"flavorRef": "2"}})
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert api.delete("servers/%s" % server["id"]).status_code == 204
    api.wait_for_deleted(server["id"])
    deadline = time.monotonic() + 10
    while server["id"] in held(cold_cloud, source) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server["id"] not in held(cold_cloud, source)
    assert server["id"] not in cold_cloud.fake_guests(dest)
    assert _claims(cold_cloud, migration["uuid"]) == {}
    assert _claims(cold_cloud, server["id"]) == {}
    # And in the middle of the move itself.
    server = _boot(api, "cold-delete-early")
    assert api.action(server["id"], {"migrate": None}).status_code == 202
    assert api.delete("servers/%s" % server["id"]).status_code == 204
    api.wait_for_deleted(server["id"])
    migration = _wait_migration(api, server["id"], TERMINAL)
    time.sleep(1)
    assert _claims(cold_cloud, migration["uuid"]) == {}
    for host in cold_cloud.computes:
        assert server["id"] not in held(cold_cloud, host)


def test_every_status_in_os_migrations(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    found = api.get("os-migrations").json()["migrations"]
    kinds = {m["migration_type"] for m in found}
    assert {"migration", "resize"} <= kinds
    statuses = {m["status"] for m in found}
    assert {"confirmed", "reverted", "error"} <= statuses
    assert api.get("os-migrations?migration_type=resize").status_code == 200


def test_a_conductor_restart_mid_verify_and_revert(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-conductor")
    _resize_and_wait(api, server["id"], {"migrate": None})
    cold_cloud.restart("conductor", sig=signal.SIGKILL)
    assert api.action(server["id"], {"revertResize": None}).status_code == 202
    assert _wait_migration(api, server["id"], TERMINAL)["status"] == "reverted"
    api.wait_for_status(server["id"], "ACTIVE")


def test_a_source_restart_keeps_the_copy_for_revert(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-source-restart")
    source = server["OS-EXT-SRV-ATTR:host"]
    _resize_and_wait(api, server["id"], {"migrate": None})
    cold_cloud.restart(source, sig=signal.SIGKILL)
    assert server["id"] in held(cold_cloud, source)
    assert api.action(server["id"], {"revertResize": None}).status_code == 202
    assert _wait_migration(api, server["id"], TERMINAL)["status"] == "reverted"
    back = api.wait_for_status(server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == source


def _slow_move(api, name):
    """A cold migration whose disk copy takes 3 s: caught in resize_finish."""
    server = _boot(api, name, metadata={"fake_transfer_seconds": "3"})
    assert api.action(server["id"], {"migrate": None}).status_code == 202
    _wait_migration(api, server["id"], ("post-migrating",))
    time.sleep(0.3)
    return server, _migrations(api, server["id"])[0]


def test_a_destination_killed_mid_copy_is_healed(cold_cloud):
    """The copy dies with the destination's compute; the conductor's healing
    sends the steps again once it is back (they are idempotent)."""
    api = cold_cloud.api(microversion=VERSION)
    server, migration = _slow_move(api, "cold-dest-killed")
    cold_cloud.restart(migration["dest_compute"], sig=signal.SIGKILL)
    assert _wait_migration(api, server["id"], ("finished",) + TERMINAL,
                           timeout=60)["status"] == "finished"
    moved = api.wait_for_status(server["id"], "VERIFY_RESIZE")
    assert moved["OS-EXT-SRV-ATTR:host"] == migration["dest_compute"]
    assert api.action(server["id"], {"confirmResize": None}).status_code == 204
    api.wait_for_status(server["id"], "ACTIVE")


def test_a_conductor_killed_mid_copy_does_not_lose_the_move(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server, _migration = _slow_move(api, "cold-conductor-killed")
    cold_cloud.restart("conductor", sig=signal.SIGKILL)
    assert _wait_migration(api, server["id"], ("finished",) + TERMINAL,
                           timeout=60)["status"] == "finished"
    assert api.action(server["id"], {"revertResize": None}).status_code == 202
    back = api.wait_for_status(server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == server["OS-EXT-SRV-ATTR:host"]


def test_services_update_and_delete(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    services = api.get("os-services?binary=vmctl-compute").json()["services"]
    one = services[0]
    resp = api.put("os-services/%s" % one["id"],
                   json={"status": "disabled", "disabled_reason": "maintenance"})
    assert resp.status_code == 200, resp.text
    body = resp.json()["service"]
    assert (body["status"], body["disabled_reason"]) == ("disabled", "maintenance")
    resp = api.put("os-services/%s" % one["id"], json={"status": "enabled"})
    assert resp.json()["service"]["disabled_reason"] is None
    assert api.put("os-services/%s" % one["id"],
                   json={"status": "enabled", "disabled_reason": "x"}).status_code == 400
    old = cold_cloud.api(microversion="2.52")
    assert old.put("os-services/%s" % one["id"], json={"status": "enabled"}).status_code == 404
    server = _boot(api, "cold-service")
    _, migration = _resize_and_wait(api, server["id"], {"migrate": None})
    source = migration["source_compute"]
    service = [s for s in services if s["host"] == source][0]
    resp = api.delete("os-services/%s" % service["id"])
    assert resp.status_code == 409 and "migrations" in resp.text, resp.text
    assert api.action(server["id"], {"confirmResize": None}).status_code == 204
    api.wait_for_status(server["id"], "ACTIVE")


def test_evacuate_and_cleanup_when_the_host_returns(cold_cloud):
    api = cold_cloud.api(microversion=VERSION)
    server = _boot(api, "cold-evacuate")
    source = server["OS-EXT-SRV-ATTR:host"]
    others = [s["id"] for s in api.get("servers?host=%s" % source).json()["servers"]]
    service = api.get("os-services?binary=vmctl-compute&host=%s" % source).json()[
        "services"][0]
    cold_cloud.stop_compute(source)
    resp = api.put("os-services/%s" % service["id"], json={"forced_down": True})
    assert resp.status_code == 200 and resp.json()["service"]["forced_down"] is True
    resp = api.action(server["id"], {"evacuate": {}})
    # 2.14+: no body (pecan answers an empty 200 as 204).
    assert resp.status_code in (200, 204), resp.text
    migration = _wait_migration(api, server["id"], ("done", "error", "completed"))
    assert migration["status"] == "done" and migration["migration_type"] == "evacuation"
    moved = api.wait_for_status(server["id"], "ACTIVE")
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert dest != source and server["id"] in cold_cloud.fake_guests(dest)
    assert server["id"] in cold_cloud.fake_guests(source)  # the dead host still has it
    assert _claims(cold_cloud, server["id"]) == {dest: (1, 512, 1)}
    api.put("os-services/%s" % service["id"], json={"forced_down": False})
    cold_cloud.start_compute(source)
    assert _wait_migration(api, server["id"], ("completed",))["status"] == "completed"
    assert server["id"] not in cold_cloud.fake_guests(source)
    assert server["id"] in cold_cloud.fake_guests(dest)
    for other in others:
        if other != server["id"]:
            api.delete("servers/%s" % other)


def test_same_host_resize_and_auto_confirm(lone_cloud):
    api = lone_cloud.api(microversion=VERSION)
    server = _boot(api, "lone-resize")
    assert server["OS-EXT-SRV-ATTR:host"] == "lone1"
    assert api.action(server["id"], {"resize": {"flavorRef": "2"}}).status_code == 202
    migration = _wait_migration(api, server["id"], ("finished",) + TERMINAL)
    assert migration["status"] == "finished", migration
    assert migration["dest_compute"] == "lone1"
    # Nobody confirms: the conductor does after resize_confirm_window (2 s).
    assert _wait_migration(api, server["id"], TERMINAL, timeout=20)["status"] == "confirmed"
    done = api.wait_for_status(server["id"], "ACTIVE")
    assert done["flavor"]["original_name"] == "m1.small"
    assert held(lone_cloud, "lone1") == {}


def test_without_same_host_there_is_no_valid_host(cloud_factory):
    solo = cloud_factory("cold-solo", computes=["solo1"])
    api = solo.api(microversion=VERSION)
    server = _boot(api, "solo-resize")
    assert api.action(server["id"], {"resize": {"flavorRef": "2"}}).status_code == 202
    assert _wait_migration(api, server["id"], TERMINAL)["status"] == "error"
    back = api.wait_for_status(server["id"], "ACTIVE")
    assert back["flavor"]["original_name"] == "m1.tiny"
    details = [d for _, r, d in _events(api, server["id"], "resize") if r == "Error"]
    assert any("No valid host" in (d or "") for d in details), details
