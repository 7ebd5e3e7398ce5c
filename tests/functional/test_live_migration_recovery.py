"""Live migration survives restarts of the source, the destination and the
conductor (fake driver, real bus and database).

The fake driver persists its migration job under state_path, as a real
hypervisor keeps running a job whose agent died: a restarted source adopts
it. Slow phases are caught with instance metadata the fake driver reads
(``fake_pre_live_migration_seconds``, ``fake_check_destination_seconds``)
and with a slow link (flavor extra spec ``migration:bandwidth_mib``). The
invariants of DESIGN.md are checked after every test (functional/conftest).
"""

import os
import signal
import time

import pytest

from tests.functional.test_live_migration import STUCK
from tests.functional.test_live_migration import TERMINAL
from tests.functional.test_live_migration import VERSION
from tests.functional.test_live_migration import _events
from tests.functional.test_live_migration import _flavor
from tests.functional.test_live_migration import _migrate
from tests.functional.test_live_migration import _migration
from tests.functional.test_live_migration import _wait_migration
from vmctl.compute.live_migration import source as source_run
from vmctl.virt import fake_live_job

HOSTS = ("compute1", "compute2", "compute3")
# 512 MiB at 10 MiB/s: pass 1 lasts 51 modelled s, 2.6 s of wall time.
SLOW_LINK = {"migration:bandwidth_mib": "10"}


@pytest.fixture(scope="module")
def rc(cloud_factory):
    # Shared storage: no disk copy before the memory (block_migration auto).
    conf = {"fake": {"migration_bandwidth_mib": 50, "migration_time_scale": 20,
                     "shared_storage": True},
            "migration": {"pre_live_migration_timeout": 8}}
    return cloud_factory("lm-recovery", computes=3, compute_conf={h: conf for h in HOSTS})


@pytest.fixture(scope="module")
def flavors(rc):
    api = rc.api(microversion=VERSION)
    return {"stuck": _flavor(api, "rc-stuck", **STUCK),
            "slow": _flavor(api, "rc-slow", **SLOW_LINK),
            "postcopy": _flavor(api, "rc-postcopy", **dict(
                STUCK, **SLOW_LINK, **{"migration:permit_post_copy": "true"}))}


def _api(cloud):
    return cloud.api(microversion=VERSION)


def _other(*hosts):
    return next(h for h in HOSTS if h not in hosts)


def _set_enabled(api, host, enabled):
    [svc] = [s for s in api.get("os-services?binary=vmctl-compute").json()["services"]
             if s["host"] == host]
    body = {"status": "enabled" if enabled else "disabled"}
    assert api.put("os-services/%s" % svc["id"], json=body).status_code == 200


def _boot_on(cloud, host, names, flavor="1", **metadata):
    """Servers built on ``host`` (the others are disabled meanwhile)."""
    api = cloud.api(microversion="2.88")
    others = [h for h in HOSTS if h != host]
    for other in others:
        _set_enabled(api, other, False)
    try:
        time.sleep(1.0)  # the scheduler's host states refresh
        servers = [_boot_meta(api, name, flavor, **metadata) for name in names]
    finally:
        for other in others:
            _set_enabled(api, other, True)
    time.sleep(1.0)
    assert all(s["OS-EXT-SRV-ATTR:host"] == host for s in servers), servers
    return servers


def _boot_meta(api, name, flavor="1", dirty_mib=0, **metadata):
    meta = {"fake_dirty_rate_mib": str(dirty_mib)}
    meta.update({k: str(v) for k, v in metadata.items()})
    server = api.create_server(name, flavor=flavor, metadata=meta)
    return api.wait_for_status(server["id"], "ACTIVE")


def _incoming(cloud, host):
    return cloud.fake_state("incoming-%s" % host)


def _path(server, migration):
    return "servers/%s/migrations/%s" % (server["id"], migration["id"])


def _force(api, server, migration):
    resp = api.post(_path(server, migration) + "/action", json={"force_complete": None})
    assert resp.status_code == 202, resp.text


def _assert_on(cloud, api, server, host):
    """The server is ACTIVE on ``host``, which alone runs its guest, and no
    destination keeps anything prepared for it."""
    now = api.wait_for_status(server["id"], "ACTIVE", timeout=60)
    assert now["OS-EXT-SRV-ATTR:host"] == host
    assert now["OS-EXT-STS:task_state"] is None
    for h in HOSTS:
        assert (server["id"] in cloud.fake_guests(h)) == (h == host), h
        assert server["id"] not in _incoming(cloud, h), h


def _assert_ends(cloud, api, server, status="completed", host=None):
    """The server's migration ends in ``status`` and leaves the server on
    ``host`` (by default the migration's destination)."""
    done = _wait_migration(api, server["id"], timeout=60)
    assert done["status"] == status, (done, _events(api, server["id"]))
    _assert_on(cloud, api, server, host or done["dest_compute"])


def _assert_abandoned(api, server):
    """The restarted source itself rolled the migration back (not the
    conductor's healer, later)."""
    [end] = [d for e, _, d in _events(api, server["id"]) if e == "compute_live_migration"]
    assert end == source_run.ABANDONED, end


def _wait_status(api, server, statuses, timeout=30):
    found = _wait_migration(api, server["id"], statuses=tuple(statuses) + TERMINAL,
                            timeout=timeout)
    assert found["status"] in statuses, found
    return found


def _kill_and_start(cloud, name, down_s=0.0):
    cloud.stop_process(name, signal.SIGKILL)
    time.sleep(down_s)
    if name in HOSTS:
        cloud.start_compute(name)
    else:
        cloud.restart(name)


# --- the source compute --------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_source_restart_while_running_adopts_the_job(rc, flavors, sig):
    """The job outlives the agent: the restarted source watches it again
    (an operator's force-complete reaches it) and finishes post-migration."""
    api = _api(rc)
    server = _boot_meta(api, "rc-src-run", flavors["stuck"], dirty_mib=200)
    source = server["OS-EXT-SRV-ATTR:host"]
    assert _migrate(api, server["id"]).status_code == 202
    running = _wait_status(api, server, ("running",))
    rc.stop_process(source, sig)
    rc.start_compute(source)
    time.sleep(2.0)
    assert _migration(api, server["id"])["status"] == "running"
    _force(api, server, running)
    _assert_ends(rc, api, server, host=running["dest_compute"])


def test_source_restart_after_the_job_ended_finishes_it(rc, flavors):
    """The job completes while the source is down: the restarted source
    finds it completed and finishes post-migration on both sides."""
    api = _api(rc)
    server = _boot_meta(api, "rc-src-ended", flavors["slow"])
    source = server["OS-EXT-SRV-ATTR:host"]
    assert _migrate(api, server["id"]).status_code == 202
    running = _wait_status(api, server, ("running",))
    rc.stop_process(source, signal.SIGKILL)
    record = os.path.join(rc.state_path, "fake-live-migration-%s-%s.json" % (
        source, server["id"]))
    deadline = time.monotonic() + 30
    while fake_live_job.load_job(record).status != "completed":  # ~2.6 s
        assert time.monotonic() < deadline, "the modelled job never completed"
        time.sleep(0.5)
    rc.start_compute(source)
    _assert_ends(rc, api, server, host=running["dest_compute"])


def test_source_restart_in_post_copy_completes(rc, flavors):
    api = _api(rc)
    server = _boot_meta(api, "rc-src-postcopy", flavors["postcopy"], dirty_mib=200)
    assert _migrate(api, server["id"]).status_code == 202
    running = _wait_status(api, server, ("running",))
    _force(api, server, running)   # post-copy is permitted: it switches
    _wait_status(api, server, ("running (post-copy)",))
    _kill_and_start(rc, server["OS-EXT-SRV-ATTR:host"])
    _assert_ends(rc, api, server, host=running["dest_compute"])


def test_source_restart_while_preparing_rolls_back(rc):
    api = _api(rc)
    server = _boot_meta(api, "rc-src-prep", fake_pre_live_migration_seconds=4)
    source = server["OS-EXT-SRV-ATTR:host"]
    assert _migrate(api, server["id"]).status_code == 202
    _wait_status(api, server, ("preparing",))
    _kill_and_start(rc, source)
    _assert_ends(rc, api, server, "failed", source)
    _assert_abandoned(api, server)


def test_source_restart_while_queued_rolls_back(rc, flavors):
    """Outgoing limit 1: the second migration waits in 'queued'. After the
    restart the running one is adopted, the queued one rolled back."""
    api = _api(rc)
    source = "compute1"
    first, second = _boot_on(rc, source, ["rc-q-1", "rc-q-2"], flavors["stuck"],
                             dirty_mib=200)
    assert _migrate(api, first["id"]).status_code == 202
    running = _wait_status(api, first, ("running",))
    assert _migrate(api, second["id"]).status_code == 202
    _wait_status(api, second, ("queued",))
    _kill_and_start(rc, source)
    assert _wait_migration(api, second["id"], timeout=60)["status"] == "failed"
    _assert_on(rc, api, second, source)
    _assert_abandoned(api, second)
    assert _migration(api, first["id"])["status"] == "running"
    assert api.delete(_path(first, running)).status_code == 202
    assert _wait_migration(api, first["id"])["status"] == "cancelled"
    _assert_on(rc, api, first, source)


# --- the destination compute --------------------------------------------------------------

@pytest.mark.slow   # waits [migration] pre_live_migration_timeout (8 s)
def test_destination_restart_while_preparing(rc):
    """The destination dies while preparing: the source's request is lost,
    it gives up after [migration] pre_live_migration_timeout and rolls back."""
    api = _api(rc)
    server = _boot_meta(api, "rc-dst-prep", fake_pre_live_migration_seconds=3)
    source = server["OS-EXT-SRV-ATTR:host"]
    dest = _other(source)
    assert _migrate(api, server["id"], host=dest).status_code == 202
    _wait_status(api, server, ("preparing",))
    _kill_and_start(rc, dest)
    done = _wait_migration(api, server["id"], timeout=60)
    if done["status"] == "completed":   # the request was delivered again
        _assert_on(rc, api, server, dest)
    else:
        assert done["status"] == "failed", done
        _assert_on(rc, api, server, source)
        [end] = [d for e, _, d in _events(api, server["id"]) if e == "compute_live_migration"]
        assert "%s did not answer" % dest in end, end


def test_destination_restart_while_running(rc, flavors):
    api = _api(rc)
    server = _boot_meta(api, "rc-dst-run", flavors["stuck"], dirty_mib=200)
    assert _migrate(api, server["id"]).status_code == 202
    running = _wait_status(api, server, ("running",))
    _kill_and_start(rc, running["dest_compute"])
    assert _migration(api, server["id"])["status"] == "running"
    _force(api, server, running)
    _assert_ends(rc, api, server, host=running["dest_compute"])


# --- the conductor -----------------------------------------------------------------------

def _conductor_accepted(rc, flavors):
    """Killed while it checks the destination: its cast is lost; the healer
    fails the migration and the guest stays."""
    api = _api(rc)
    server = _boot_meta(api, "rc-cond-acc", fake_check_destination_seconds=4)
    assert _migrate(api, server["id"]).status_code == 202
    _wait_status(api, server, ("accepted",))
    deadline = time.monotonic() + 30
    while "conductor_live_migrate_instance" not in [e for e, _, _ in _events(
            api, server["id"])]:   # the conductor took the request
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)
    assert _migration(api, server["id"])["status"] == "accepted"
    _kill_and_start(rc, "conductor")
    _assert_ends(rc, api, server, "failed", server["OS-EXT-SRV-ATTR:host"])


def _conductor_queued(rc, flavors):
    api = _api(rc)
    source = "compute2"
    blocker = _boot_on(rc, source, ["rc-cond-block"], flavors["stuck"], dirty_mib=200)[0]
    server = _boot_on(rc, source, ["rc-cond-q"])[0]
    assert _migrate(api, blocker["id"]).status_code == 202
    running = _wait_status(api, blocker, ("running",))
    assert _migrate(api, server["id"]).status_code == 202
    _wait_status(api, server, ("queued",))
    _kill_and_start(rc, "conductor")
    time.sleep(1.0)
    assert _migration(api, server["id"])["status"] == "queued"
    assert api.delete(_path(blocker, running)).status_code == 202
    assert _wait_migration(api, blocker["id"])["status"] == "cancelled"
    _assert_ends(rc, api, server)
    _assert_on(rc, api, blocker, source)


def _conductor_preparing(rc, flavors):
    api = _api(rc)
    server = _boot_meta(api, "rc-cond-prep", fake_pre_live_migration_seconds=3)
    assert _migrate(api, server["id"]).status_code == 202
    _wait_status(api, server, ("preparing",))
    _kill_and_start(rc, "conductor")
    _assert_ends(rc, api, server)


def _conductor_running(rc, flavors):
    api = _api(rc)
    server = _boot_meta(api, "rc-cond-run", flavors["stuck"], dirty_mib=200)
    assert _migrate(api, server["id"]).status_code == 202
    running = _wait_status(api, server, ("running",))
    _kill_and_start(rc, "conductor")
    assert _migration(api, server["id"])["status"] == "running"
    _force(api, server, running)
    _assert_ends(rc, api, server, host=running["dest_compute"])


@pytest.mark.parametrize("scenario", [_conductor_accepted, _conductor_queued,
                                      _conductor_preparing, _conductor_running],
                         ids=["accepted", "queued", "preparing", "running"])
def test_conductor_restart(rc, flavors, scenario):
    scenario(rc, flavors)


# --- the source's tear-down after the switch-over -------------------------------------------
# With ``fake_confirm_seconds`` the fake job stays running that long after the
# switch-over, as libvirt's confirm phase does while it stops the source's
# QEMU; the destination reports the arrival as libvirt's resume event would.

TEAR_DOWN_S = 4


def _record(cloud, host, server):
    return os.path.join(cloud.state_path, "fake-live-migration-%s-%s.json" % (
        host, server["id"]))


def _wait_gone(cloud, host, server, timeout=30):
    deadline = time.monotonic() + timeout
    while server["id"] in cloud.fake_guests(host) or os.path.exists(
            _record(cloud, host, server)):
        assert time.monotonic() < deadline, "%s still has %s" % (host, server["id"])
        time.sleep(0.1)


def _completed_while_tearing_down(rc, api, name):
    """A server migrated to completion, recorded while its source's job still
    tears down (its guest and job are still there): (server, source, migration)."""
    server = _boot_meta(api, name, fake_confirm_seconds=TEAR_DOWN_S)
    source = server["OS-EXT-SRV-ATTR:host"]
    assert _migrate(api, server["id"]).status_code == 202
    done = _wait_migration(api, server["id"], timeout=60)
    assert done["status"] == "completed", _events(api, server["id"])
    assert fake_live_job.load_job(_record(rc, source, server)).status == "running"
    assert server["id"] in rc.fake_guests(source)
    return server, source, done


def test_completed_when_the_guest_arrives_while_the_source_tears_down(rc):
    api = _api(rc)
    server, source, done = _completed_while_tearing_down(rc, api, "rc-arrive")
    now = api.get("servers/%s" % server["id"]).json()["server"]
    assert now["OS-EXT-SRV-ATTR:host"] == done["dest_compute"]
    _wait_gone(rc, source, server, timeout=TEAR_DOWN_S + 20)
    _assert_on(rc, api, server, done["dest_compute"])


def test_a_move_back_waits_for_the_source_clean_up(rc):
    """Straight back to the source while it still tears down: its checks
    wait for the clean-up, which must not remove the returning guest."""
    api = _api(rc)
    server, source, first = _completed_while_tearing_down(rc, api, "rc-back")
    assert _migrate(api, server["id"], host=source).status_code == 202
    deadline = time.monotonic() + 60
    while True:
        back = _migration(api, server["id"])
        if back["id"] != first["id"] and back["status"] in TERMINAL:
            break
        assert time.monotonic() < deadline, back
        time.sleep(0.2)
    assert back["status"] == "completed", _events(api, server["id"])
    _wait_gone(rc, first["dest_compute"], server, timeout=TEAR_DOWN_S + 20)
    _assert_on(rc, api, server, source)


def test_source_killed_before_its_clean_up_cleans_up_when_it_starts(rc):
    """Completed is recorded before the source's clean-up: an agent killed
    in between finds its leftovers at start-up and removes them."""
    api = _api(rc)
    server, source, done = _completed_while_tearing_down(rc, api, "rc-left")
    rc.stop_process(source, signal.SIGKILL)
    assert server["id"] in rc.fake_guests(source)         # left behind
    time.sleep(TEAR_DOWN_S)
    assert server["id"] in rc.fake_guests(source)
    rc.start_compute(source)
    _wait_gone(rc, source, server)
    _assert_on(rc, api, server, done["dest_compute"])
