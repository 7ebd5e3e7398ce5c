"""Live migration end to end on the fake driver (real bus and database).

The fake driver models the hypervisor job (memory, dirty rate, bandwidth,
iterations, downtime, post-copy, throttling), sped up 20x, so the
convergence policies act on it as they would on QEMU.
"""

import os
import signal
import time

import pytest

VERSION = "2.84"
TERMINAL = ("completed", "failed", "cancelled", "error")


@pytest.fixture(scope="module")
def lm_cloud(cloud_factory):
    # A slow link: a 512 MiB guest takes ~10 modelled seconds (0.5 s real).
    fake = {"fake": {"migration_bandwidth_mib": 50, "migration_time_scale": 20}}
    return cloud_factory("live", computes=3,
                         compute_conf={h: fake for h in ("compute1", "compute2", "compute3")})


def _flavor(api, name, **specs):
    resp = api.post("flavors", json={"flavor": {"name": name, "ram": 512, "vcpus": 1,
                                                "disk": 1}})
    assert resp.status_code == 200, resp.text
    flavor_id = resp.json()["flavor"]["id"]
    if specs:
        api.post("flavors/%s/os-extra_specs" % flavor_id, json={"extra_specs": specs})
    return flavor_id


# A guest dirtying faster than the link, under Nova's schedule with no way
# out: it runs until aborted, forced or timed out.
STUCK = {"migration:policy": "steps", "migration:permit_post_copy": "false",
         "migration:permit_auto_converge": "false", "migration:max_downtime_ms": "100"}


def _boot(api, name, flavor="1", dirty_mib=0):
    server = api.create_server(name, flavor=flavor,
                               metadata={"fake_dirty_rate_mib": str(dirty_mib)})
    return api.wait_for_status(server["id"], "ACTIVE")


def _migrate(api, server_id, host=None, block="auto"):
    return api.post("servers/%s/action" % server_id,
                    json={"os-migrateLive": {"host": host, "block_migration": block}})


def _migration(api, server_id):
    found = api.get("os-migrations?instance_uuid=%s" % server_id).json()["migrations"]
    return found[0] if found else None


def _wait_migration(api, server_id, statuses=TERMINAL, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        migration = _migration(api, server_id)
        if migration and migration["status"] in statuses:
            return migration
        time.sleep(0.1)
    raise AssertionError("migration of %s never reached %s: %s" % (
        server_id, statuses, _migration(api, server_id)))


def _events(api, server_id):
    actions = api.get("servers/%s/os-instance-actions" % server_id).json()["instanceActions"]
    live = [a for a in actions if a["action"] == "live-migration"][0]
    action = api.get("servers/%s/os-instance-actions/%s" % (
        server_id, live["request_id"])).json()["instanceAction"]
    return [(e["event"], e["result"], e.get("details")) for e in action["events"]]


def test_live_migration_moves_the_guest(lm_cloud):
    api = lm_cloud.api(microversion=VERSION)
    server = _boot(api, "lm-basic")
    source = server["OS-EXT-SRV-ATTR:host"]
    assert _migrate(api, server["id"]).status_code == 202
    migration = _wait_migration(api, server["id"])
    assert migration["status"] == "completed", _events(api, server["id"])
    moved = api.wait_for_status(server["id"], "ACTIVE")
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert dest != source and dest == migration["dest_compute"]
    assert server["id"] in lm_cloud.fake_guests(dest)
    assert server["id"] not in lm_cloud.fake_guests(source)
    events = [e for e, _, _ in _events(api, server["id"])]
    assert events[0] == "conductor_live_migrate_instance"
    assert events[-1] == "compute_live_migration"


def test_named_destination_and_paused_guest(lm_cloud):
    api = lm_cloud.api(microversion=VERSION)
    server = _boot(api, "lm-named")
    api.post("servers/%s/action" % server["id"], json={"pause": None})
    api.wait_for_status(server["id"], "PAUSED")
    dest = next(h for h in ("compute1", "compute2", "compute3")
                if h != server["OS-EXT-SRV-ATTR:host"])
    assert _migrate(api, server["id"], host=dest).status_code == 202
    assert _wait_migration(api, server["id"])["status"] == "completed"
    moved = api.wait_for_status(server["id"], "PAUSED")
    assert moved["OS-EXT-SRV-ATTR:host"] == dest


def test_non_converging_guest_is_aborted_and_stays(lm_cloud):
    api = lm_cloud.api(microversion=VERSION)
    stuck = _flavor(api, "lm-no-escape", **STUCK)
    server = _boot(api, "lm-abort", flavor=stuck, dirty_mib=200)
    source = server["OS-EXT-SRV-ATTR:host"]
    assert _migrate(api, server["id"]).status_code == 202
    running = _wait_migration(api, server["id"], statuses=("running",) + TERMINAL)
    assert running["status"] == "running"
    path = "servers/%s/migrations/%s" % (server["id"], running["id"])
    # Progress is written at the monitor's first poll, a moment after "running".
    deadline = time.monotonic() + 30
    shown = api.get(path).json()["migration"]
    while not shown["memory_total_bytes"] and time.monotonic() < deadline:
        time.sleep(0.1)
        shown = api.get(path).json()["migration"]
    assert shown["memory_total_bytes"] == 512 * 1024 * 1024
    assert api.delete(path).status_code == 202
    assert _wait_migration(api, server["id"])["status"] == "cancelled"
    back = api.wait_for_status(server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == source
    assert server["id"] in lm_cloud.fake_guests(source)


def test_adaptive_escalates_to_post_copy(lm_cloud):
    api = lm_cloud.api(microversion=VERSION)
    flavor = _flavor(api, "lm-postcopy", **{"migration:policy": "adaptive",
                                            "migration:permit_post_copy": "true"})
    server = _boot(api, "lm-postcopy", flavor=flavor, dirty_mib=200)
    assert _migrate(api, server["id"]).status_code == 202
    migration = _wait_migration(api, server["id"], timeout=60)
    assert migration["status"] == "completed", _events(api, server["id"])
    decisions = [d for e, _, d in _events(api, server["id"]) if e == "live_migration_policy"]
    assert any("start_postcopy" in (d or "") for d in decisions), decisions


def test_force_complete_pauses_without_post_copy(lm_cloud):
    api = lm_cloud.api(microversion=VERSION)
    flavor = _flavor(api, "lm-force", **STUCK)
    server = _boot(api, "lm-force", flavor=flavor, dirty_mib=200)
    assert _migrate(api, server["id"]).status_code == 202
    running = _wait_migration(api, server["id"], statuses=("running",) + TERMINAL)
    path = "servers/%s/migrations/%s/action" % (server["id"], running["id"])
    assert api.post(path, json={"force_complete": None}).status_code == 202
    assert _wait_migration(api, server["id"], timeout=60)["status"] == "completed"
    decisions = [d for e, _, d in _events(api, server["id"]) if e == "live_migration_policy"]
    assert any("force_complete" in (d or "") for d in decisions), decisions


def test_no_valid_destination_fails_cleanly(lm_cloud):
    api = lm_cloud.api(microversion=VERSION)
    server = _boot(api, "lm-nohost")
    resp = _migrate(api, server["id"], block=False)  # no shared storage: pre-checks refuse
    assert resp.status_code == 202
    migration = _wait_migration(api, server["id"])
    assert migration["status"] == "failed"
    still = api.wait_for_status(server["id"], "ACTIVE")
    assert still["OS-EXT-SRV-ATTR:host"] == server["OS-EXT-SRV-ATTR:host"]
    details = [d for e, r, d in _events(api, server["id"]) if r == "Error"]
    assert any("block migration is required" in (d or "") for d in details), details


def _stuck_migration(api, name):
    """A running migration that cannot converge on its own."""
    slow = _flavor(api, name, **STUCK)
    server = _boot(api, name, flavor=slow, dirty_mib=200)
    assert _migrate(api, server["id"]).status_code == 202
    running = _wait_migration(api, server["id"], statuses=("running",) + TERMINAL)
    assert running["status"] == "running"
    return server, running


def test_a_lost_migration_is_healed(lm_cloud):
    """The source compute is killed mid-migration and its hypervisor job is
    lost too (its record removed: nothing to adopt on restart): the
    conductors' healing ends the migration with the guest where it really
    runs (still on the source)."""
    api = lm_cloud.api(microversion=VERSION)
    server, _ = _stuck_migration(api, "lm-heal")
    source = server["OS-EXT-SRV-ATTR:host"]
    lm_cloud.stop_compute(source, sig=signal.SIGKILL)
    os.unlink(os.path.join(lm_cloud.state_path, "fake-live-migration-%s-%s.json" % (
        source, server["id"])))
    lm_cloud.start_compute(source)
    migration = _wait_migration(api, server["id"], timeout=60)
    assert migration["status"] == "failed", migration
    back = api.wait_for_status(server["id"], "ACTIVE", timeout=30)
    assert back["OS-EXT-SRV-ATTR:host"] == source
    assert back["OS-EXT-STS:task_state"] is None


def test_a_conductor_restart_does_not_disturb_a_running_migration(lm_cloud):
    api = lm_cloud.api(microversion=VERSION)
    server, running = _stuck_migration(api, "lm-conductor")
    lm_cloud.restart("conductor", sig=signal.SIGKILL)
    time.sleep(1)
    assert _migration(api, server["id"])["status"] == "running"
    path = "servers/%s/migrations/%s" % (server["id"], running["id"])
    assert api.delete(path).status_code == 202
    assert _wait_migration(api, server["id"], timeout=30)["status"] == "cancelled"
    back = api.wait_for_status(server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == server["OS-EXT-SRV-ATTR:host"]


def test_outgoing_limit_queues_and_a_queued_migration_can_be_aborted(lm_cloud):
    """[compute] max_concurrent_live_migrations = 1: a second migration
    from the same host waits in 'queued' and can be aborted there."""
    api = lm_cloud.api(microversion=VERSION)
    flavor = _flavor(api, "lm-queue", **STUCK)
    servers = [_boot(api, "lm-queue-%d" % i, flavor=flavor, dirty_mib=200) for i in range(4)]
    by_host = {}
    for server in servers:
        by_host.setdefault(server["OS-EXT-SRV-ATTR:host"], []).append(server)
    first, second = next(group for group in by_host.values() if len(group) >= 2)[:2]
    assert _migrate(api, first["id"]).status_code == 202
    running = _wait_migration(api, first["id"], statuses=("running",))
    assert _migrate(api, second["id"]).status_code == 202
    queued = _wait_migration(api, second["id"], statuses=("queued",))
    time.sleep(1.0)
    assert _migration(api, second["id"])["status"] == "queued"
    for server, migration in ((second, queued), (first, running)):
        path = "servers/%s/migrations/%s" % (server["id"], migration["id"])
        assert api.delete(path).status_code == 202
        assert _wait_migration(api, server["id"])["status"] == "cancelled"
    for server in servers:
        api.delete("servers/%s" % server["id"])


@pytest.fixture(scope="module")
def precheck_cloud(cloud_factory):
    """compute2 (the roomiest host, the scheduler's favourite) refuses every
    incoming live migration in its pre-check."""
    refuser = {"fake": {"memory_mb": 65536, "refuse_incoming_migrations": True}}
    return cloud_factory("live-precheck", computes=3, compute_conf={"compute2": refuser})


def _boot_off_compute2(api, name):
    """Boot a server elsewhere than compute2 (disabled meanwhile)."""
    [svc] = [s for s in api.get("os-services?binary=vmctl-compute").json()["services"]
             if s["host"] == "compute2"]
    assert api.put("os-services/%s" % svc["id"], json={"status": "disabled"}).status_code == 200
    time.sleep(1.0)  # the scheduler's host states refresh
    server = _boot(api, name)
    assert server["OS-EXT-SRV-ATTR:host"] != "compute2"
    assert api.put("os-services/%s" % svc["id"], json={"status": "enabled"}).status_code == 200
    time.sleep(1.0)
    return server


def test_a_destination_failing_its_pre_check_is_skipped(precheck_cloud):
    """The scheduler's favourite destination refuses in its pre-check: its
    claim is released and the conductor moves on to the next host."""
    cloud = precheck_cloud
    api = cloud.api(microversion="2.88")
    server = _boot_off_compute2(api, "lm-precheck")
    assert _migrate(api, server["id"]).status_code == 202
    migration = _wait_migration(api, server["id"])
    assert migration["status"] == "completed", _events(api, server["id"])
    assert migration["dest_compute"] not in ("compute2", server["OS-EXT-SRV-ATTR:host"])
    moved = api.wait_for_status(server["id"], "ACTIVE")
    assert moved["OS-EXT-SRV-ATTR:host"] == migration["dest_compute"]
    [chosen] = [d for e, r, d in _events(api, server["id"])
                if e == "conductor_live_migrate_instance"]
    assert "skipped: compute2: compute2 refuses incoming migrations" in chosen, chosen


def _tracebacks(cloud, name):
    with open(cloud.log_path(name)) as log:
        return [line for line in log if "Traceback" in line
                or "Exception during message handling" in line]


def test_a_refused_pre_check_is_an_expected_failure(precheck_cloud):
    """A pre-check refusal is a domain error the compute raises as expected
    (MigrationPreCheckError): the migration fails saying why, as before, and
    neither the refusing compute nor the conductor logs a traceback."""
    cloud = precheck_cloud
    api = cloud.api(microversion="2.88")
    server = _boot_off_compute2(api, "lm-refused")
    source = server["OS-EXT-SRV-ATTR:host"]
    resp = _migrate(api, server["id"], host="compute2")
    assert resp.status_code == 202, resp.text
    migration = _wait_migration(api, server["id"])
    assert migration["status"] == "failed", migration
    [(result, details)] = [(r, d) for e, r, d in _events(api, server["id"])
                           if e == "conductor_live_migrate_instance"]
    assert result == "Error"
    assert details == ("No destination passed the pre-checks (compute2: compute2 refuses "
                       "incoming migrations (fake))."), details
    back = api.wait_for_status(server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == source
    for name in ("compute2", "conductor"):
        assert _tracebacks(cloud, name) == [], name
    api.delete("servers/%s" % server["id"])
    api.wait_for_deleted(server["id"])
