"""Scenario: live migration of real guests between the two lab hosts.

Every migration is judged from three sides: the API (the migration's
status, the server's host and status, the policy's decisions as instance
action events), libvirt (the domain runs on exactly one host, the expected
one) and the guest (its heartbeat goes on with no hole and no ``CORRUPT``
line). The guest's own clock stops while QEMU pauses it (TCG), so the
downtime it saw is measured as the wall-clock gap between heartbeat lines
reaching its console files (``kvm.HeartbeatWatch``).

The lab's hosts share no instance storage (each has its own instance
folder), so every migration copies the disk: ``block_migration: auto``
picks block migration, ``false`` is refused by the pre-checks.

Three guests, each reused by the tests that follow it in file order:

* ``dirtying``: 32 MiB dirtied at 16 MiB/s, no bandwidth limit; converges.
* ``postcopy``: 48 MiB dirtied at 64 MiB/s over a 32 MiB/s link (flavor
  extra spec ``migration:bandwidth_mib``): every pass leaves ~48 MiB, i.e.
  1.5 s of downtime, three times the 500 ms allowed: it never converges.
  ``adaptive`` with post-copy permitted.
* ``stuck``: the same workload under ``steps`` (Nova's schedule), no
  post-copy, ``timeout_action=abort`` after a short completion timeout.

The last test SIGKILLs the source compute agent while the ``postcopy``
guest migrates and starts it again: the new agent adopts the libvirt job
(it goes on in libvirtd meanwhile) and completes the migration.
After every test the kvm fixtures check DESIGN.md's invariants against
libvirt's domains and the instance folders.
"""

import contextlib
import os
import signal
import subprocess
import time

import pytest

from tests.fixtures import kvm
from vmctl.virt.libvirt import guest as libvirt_guest

TERMINAL = ("completed", "failed", "cancelled", "error")
MIGRATION_TIMEOUT = 120
HB_S = 0.2                  # the guest's heartbeat period (vmctl.hb_ms=200)
WATCH_S = 0.02              # HeartbeatWatch's poll interval
MAX_DOWNTIME_MS = 500       # migration:max_downtime_ms of every flavor here
BANDWIDTH_MIB = 32
# steps: data_gib = max(RAM, 2) + max(disk, 2) GiB = 4 with the copied disk
# (2 if the driver does not count it): the timeout runs after 12 (or 6) s.
COMPLETION_TIMEOUT = 3

DIRTYING = "console=ttyS0 quiet vmctl.dirty_mib=32 vmctl.dirty_rate=16"
HOT = "console=ttyS0 quiet vmctl.dirty_mib=48 vmctl.dirty_rate=64"

FLAVORS = {
    "lm.dirtying": {"migration:max_downtime_ms": str(MAX_DOWNTIME_MS)},
    "lm.postcopy": {"migration:policy": "adaptive",
                    "migration:max_downtime_ms": str(MAX_DOWNTIME_MS),
                    "migration:permit_post_copy": "true",
                    "migration:permit_auto_converge": "false",
                    "migration:bandwidth_mib": str(BANDWIDTH_MIB)},
    "lm.steps": {"migration:policy": "steps",
                 "migration:max_downtime_ms": str(MAX_DOWNTIME_MS),
                 "migration:permit_post_copy": "false",
                 "migration:permit_auto_converge": "false",
                 "migration:timeout_action": "abort",
                 "migration:completion_timeout": str(COMPLETION_TIMEOUT),
                 "migration:bandwidth_mib": str(BANDWIDTH_MIB)},
}


# --- set-up ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lm(kvm_env, guest):
    """Flavors with migration:* extra specs and the guest disk with two workloads."""
    api = kvm_env.api
    flavors = {}
    for name, specs in FLAVORS.items():
        flavor = kvm_env.cloud.create_flavor(name, 1, 128, 1)
        resp = api.post("flavors/%s/os-extra_specs" % flavor["id"],
                        json={"extra_specs": specs})
        assert resp.status_code == 200, resp.text
        flavors[name] = flavor["id"]
    images = {}
    for name, cmdline in (("dirtying", DIRTYING), ("hot", HOT)):
        images[name] = kvm_env.cloud.upload_image(
            "lm-guest-%s" % name, guest["disk.qcow2"], "qcow2", "bare",
            kernel_id=kvm_env.images["kernel"]["id"],
            ramdisk_id=kvm_env.images["ramdisk"]["id"], os_command_line=cmdline)["id"]
    return {"flavors": flavors, "images": images}


def _boot(env, lm, name, flavor, image):
    # No availability zone: each lab host is its own zone (how the other kvm
    # tests pick a host), and an instance booted into a zone stays in it.
    server = env.api.create_server(name, flavor=lm["flavors"][flavor],
                                   image=lm["images"][image])
    server = env.api.wait_for_status(server["id"], "ACTIVE", timeout=120)
    assert env.host_of(server) in env.lab.names(), server
    env.wait_heartbeat(server["id"], boot=1)
    return server


@contextlib.contextmanager
def _module_server(env, lm, name, flavor, image):
    # Shared by the module's tests, deleted at its end (not by a failing test's clean-up).
    server = _boot(env, lm, name, flavor, image)
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            env.delete([server["id"]])


@pytest.fixture(scope="module")
def dirtying(kvm_env, lm):
    with _module_server(kvm_env, lm, "lm-dirtying", "lm.dirtying", "dirtying") as server:
        yield server


@pytest.fixture(scope="module")
def postcopy(kvm_env, lm):
    with _module_server(kvm_env, lm, "lm-postcopy", "lm.postcopy", "hot") as server:
        yield server


@pytest.fixture(scope="module")
def stuck(kvm_env, lm):
    with _module_server(kvm_env, lm, "lm-stuck", "lm.steps", "hot") as server:
        yield server


# --- the API side ------------------------------------------------------------------------

def _migrations(env, server_id):
    resp = env.api.get("os-migrations", params={"instance_uuid": server_id,
                                                "migration_type": "live-migration"})
    assert resp.status_code == 200, resp.text
    return resp.json()["migrations"]


def _migrate(env, server_id, block="auto", host=None):
    """POST os-migrateLive; the new migration record once it exists."""
    known = {m["id"] for m in _migrations(env, server_id)}
    resp = env.api.action(server_id, {"os-migrateLive": {"host": host,
                                                         "block_migration": block}})
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 30
    while True:
        new = [m for m in _migrations(env, server_id) if m["id"] not in known]
        if new:
            return new[0]
        assert time.monotonic() < deadline, "no migration record for %s" % server_id
        time.sleep(0.1)


def _current(env, server_id, migration_id):
    return next(m for m in _migrations(env, server_id) if m["id"] == migration_id)


def _wait_migration(env, server_id, migration, statuses=TERMINAL, timeout=MIGRATION_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        current = _current(env, server_id, migration["id"])
        if current["status"] in statuses:
            return current
        if time.monotonic() > deadline:
            raise AssertionError("migration %s of %s is %s after %ss, not in %s; events: %s" % (
                migration["id"], server_id, current["status"], timeout, statuses,
                _events(env, server_id)))
        time.sleep(0.1)


def _events(env, server_id):
    """[(event, result, details)] of the server's latest live-migration action."""
    api = env.api
    actions = api.get("servers/%s/os-instance-actions" % server_id).json()["instanceActions"]
    live = [a for a in actions if a["action"] == "live-migration"]
    if not live:
        return []
    latest = max(live, key=lambda a: a["start_time"])
    action = api.get("servers/%s/os-instance-actions/%s" % (
        server_id, latest["request_id"])).json()["instanceAction"]
    return [(e["event"], e.get("result"), e.get("details")) for e in action["events"]]


def _decisions(env, server_id):
    return [d or "" for e, _, d in _events(env, server_id) if e == "live_migration_policy"]


def _start(env, server_id, **kw):
    """Watch the guest, then migrate it: (source host, watch, since, migration)."""
    source = env.host_of(env.api.server(server_id))
    watch = _watch(env, server_id)
    since = time.monotonic()
    return source, watch, since, _migrate(env, server_id, **kw)


def _wait_running(env, server_id, migration):
    running = _wait_migration(env, server_id, migration, statuses=("running",) + TERMINAL)
    assert running["status"] == "running", _events(env, server_id)
    return running


# --- where the guest is, what it saw --------------------------------------------------------

def _other(env, host):
    return next(h for h in env.lab.names() if h != host)


def _assert_on(env, server_id, host, status="ACTIVE"):
    """The server is ``status`` on ``host``; libvirt runs it there and nowhere else."""
    deadline = time.monotonic() + 60
    while True:
        server = env.api.wait_for_status(server_id, status, timeout=60)
        if server["OS-EXT-STS:task_state"] is None or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert env.host_of(server) == host, server
    assert server["OS-EXT-STS:task_state"] is None, server
    assert env.lab.domain_state(host, server_id) == libvirt_guest.VIR_DOMAIN_RUNNING, (
        host, env.lab.domains(host))
    assert os.path.isdir(env.cloud.instance_dir(host, server_id))
    # Nothing left on the other host (its folder moved with the guest, or, rolled
    # back, none was left). A completed migration's source may still be stopping
    # its QEMU for a moment and cleans up after that.
    other = _other(env, host)
    deadline = time.monotonic() + 30
    while env.lab.domain_state(other, server_id) is not None or os.path.exists(
            env.cloud.instance_dir(other, server_id)):
        assert time.monotonic() < deadline, (other, env.lab.domains(other),
                                             env.cloud.instance_dirs(other))
        time.sleep(0.2)
    return server


def _assert_arrival_reported(env, server_id, done):
    """Completed on the destination's resume event (RESUMED/MIGRATED), not
    after the source's tear-down: the destination agent reported it."""
    [uuid] = [m["uuid"] for m in env.cloud.api(microversion="2.59").get(
        "os-migrations", params={"instance_uuid": server_id}).json()["migrations"]
        if m["id"] == done["id"]]
    with open(env.cloud.log_path(done["dest_compute"])) as f:
        assert "Live migration %s: the guest runs here" % uuid in f.read()


def _watch(env, server_id):
    return kvm.HeartbeatWatch(lambda: kvm.console_paths(env.cloud, server_id),
                              interval=WATCH_S).start()


def _guest_went_on(env, server_id, watch, since, until, max_gap_s=None):
    """The heartbeat goes on (a few more beats seen through the console API too)
    with no hole and no CORRUPT line; the longest wall-clock gap in
    [since, until] is at most ``max_gap_s``. Returns that gap (seconds)."""
    last = watch.last_seq
    assert watch.wait_seq(last + 5, timeout=60), "the heartbeat stopped: " + watch.summary()
    watch.stop()
    assert watch.error is None, watch.error
    assert not watch.corrupt, watch.corrupt
    assert not watch.holes(), "heartbeats lost: %s; %s" % (watch.holes()[:20], watch.summary())
    assert watch.boots == [] or set(watch.boots) == {1}, "the guest rebooted: " + watch.summary()
    console = env.wait_heartbeat(server_id, after_seq=last)   # through the API, current host
    assert not console.corrupt, console.corrupt
    gap, before, after = watch.max_gap(since, until)
    if max_gap_s is not None:
        assert gap <= max_gap_s, (
            "the guest was silent for %.3f s (HB %s -> %s), more than %.3f s: %s"
            % (gap, before, after, max_gap_s, watch.summary()))
    return gap


def _allowed_gap_s():
    """The allowed downtime plus one heartbeat (plus the watch's resolution)."""
    return MAX_DOWNTIME_MS / 1000.0 + HB_S + 2 * WATCH_S


def _disk_boot_counter(env, host, server_id):
    """The boot counter in sector 0 of the guest's disk on ``host`` (guest/README.md),
    read from the file libvirt gives the guest."""
    import xml.etree.ElementTree as ET

    dom = env.lab.conn(host).lookupByUUIDString(server_id)
    source = ET.fromstring(dom.XMLDesc(0)).find("./devices/disk/source").get("file")
    assert source.startswith(env.cloud.instances_path(host)), source
    out = subprocess.run(["qemu-io", "-r", "-U", "-c", "read -v 0 16", source],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    raw = b"".join(bytes.fromhex("".join(line.split(":", 1)[1].split()[:16]))
                   for line in out.splitlines() if line[:8].strip("0123456789abcdef") == ""
                   and ":" in line)
    assert raw[:8] == b"VMCTLBC1", out
    return int.from_bytes(raw[8:16], "little")


# --- the tests ----------------------------------------------------------------------------

def test_dirtying_guest_migrates_within_the_allowed_downtime(kvm_env, dirtying):
    env, sid = kvm_env, dirtying["id"]
    source, watch, since, migration = _start(env, sid)
    done = _wait_migration(env, sid, migration)
    until = time.monotonic()
    assert done["status"] == "completed", _events(env, sid)
    assert (done["source_compute"], done["dest_compute"]) == (source, _other(env, source))
    _assert_on(env, sid, done["dest_compute"])
    events = [e for e, _, _ in _events(env, sid)]
    assert events[0] == "conductor_live_migrate_instance", events
    _assert_arrival_reported(env, sid, done)
    _guest_went_on(env, sid, watch, since, until, max_gap_s=_allowed_gap_s())


def test_non_block_migration_is_refused_without_shared_storage(kvm_env, dirtying):
    env, sid = kvm_env, dirtying["id"]
    host = env.host_of(env.api.server(sid))
    watch = _watch(env, sid)
    migration = _migrate(env, sid, block=False)
    assert _wait_migration(env, sid, migration)["status"] == "failed", _events(env, sid)
    _assert_on(env, sid, host)
    assert any(r == "Error" for _, r, _ in _events(env, sid)), _events(env, sid)
    _guest_went_on(env, sid, watch, None, None)


def test_block_migration_carries_the_disk(kvm_env, dirtying):
    env, sid = kvm_env, dirtying["id"]
    source = env.host_of(env.api.server(sid))
    dest = _other(env, source)
    assert _disk_boot_counter(env, source, sid) == 1
    watch = _watch(env, sid)
    since = time.monotonic()
    migration = _migrate(env, sid, block=True, host=dest)
    done = _wait_migration(env, sid, migration)
    until = time.monotonic()
    assert done["status"] == "completed", _events(env, sid)
    _assert_on(env, sid, dest)
    # The disk was copied: its boot counter (written once, at boot) is there.
    assert _disk_boot_counter(env, dest, sid) == 1
    _guest_went_on(env, sid, watch, since, until, max_gap_s=_allowed_gap_s())


def test_non_converging_guest_completes_with_adaptive_post_copy(kvm_env, postcopy):
    env, sid = kvm_env, postcopy["id"]
    source, watch, since, migration = _start(env, sid)
    done = _wait_migration(env, sid, migration)
    until = time.monotonic()
    decisions = _decisions(env, sid)
    assert done["status"] == "completed", _events(env, sid)
    assert any(d.startswith("start_postcopy") for d in decisions), decisions
    _assert_arrival_reported(env, sid, done)     # at post-copy's end, not its start
    _assert_on(env, sid, _other(env, source))
    _guest_went_on(env, sid, watch, since, until)


def test_non_converging_guest_is_aborted_by_steps_timeout(kvm_env, stuck):
    env, sid = kvm_env, stuck["id"]
    source, watch, since, migration = _start(env, sid)
    done = _wait_migration(env, sid, migration)
    until = time.monotonic()
    decisions = _decisions(env, sid)
    assert done["status"] == "cancelled", _events(env, sid)
    assert any(d.startswith("abort") for d in decisions), decisions
    assert not any(d.startswith(("start_postcopy", "force_complete")) for d in decisions)
    _assert_on(env, sid, source)
    # Rolled back: nothing of it is left on the destination (the invariant
    # check after the test looks at the folders), and it never paused.
    _guest_went_on(env, sid, watch, since, until, max_gap_s=_allowed_gap_s())


def test_abort_a_running_migration(kvm_env, stuck):
    env, sid = kvm_env, stuck["id"]
    source, watch, since, migration = _start(env, sid)
    running = _wait_running(env, sid, migration)
    # Progress is saved at the first poll and then every
    # [migration] progress_save_interval (5 s): the figures show up within it.
    path = "servers/%s/migrations/%s" % (sid, running["id"])
    deadline = time.monotonic() + 8
    while True:
        shown = env.api.get(path).json()["migration"]
        if (shown["memory_processed_bytes"] or 0) > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert shown["status"] == "running", shown
    assert shown["memory_total_bytes"] >= 128 * 1024 * 1024, shown
    assert (shown["memory_processed_bytes"] or 0) > 0, shown
    resp = env.api.delete(path)
    assert resp.status_code == 202, resp.text
    done = _wait_migration(env, sid, migration)
    until = time.monotonic()
    assert done["status"] == "cancelled", _events(env, sid)
    _assert_on(env, sid, source)
    _guest_went_on(env, sid, watch, since, until, max_gap_s=_allowed_gap_s())


def test_force_complete_a_running_migration(kvm_env, stuck):
    env, sid = kvm_env, stuck["id"]
    source, watch, since, migration = _start(env, sid)
    running = _wait_running(env, sid, migration)
    time.sleep(1.0)
    resp = env.api.post("servers/%s/migrations/%s/action" % (sid, running["id"]),
                        json={"force_complete": None})
    assert resp.status_code == 202, resp.text
    done = _wait_migration(env, sid, migration)
    until = time.monotonic()
    decisions = _decisions(env, sid)
    assert done["status"] == "completed", _events(env, sid)
    # No post-copy permitted: the guest was paused until it converged, and
    # runs again on the destination.
    assert any(d.startswith("force_complete") for d in decisions), decisions
    _assert_on(env, sid, _other(env, source))
    _guest_went_on(env, sid, watch, since, until)


def test_source_agent_killed_mid_migration_adopts_and_completes(kvm_env, postcopy):
    env, sid = kvm_env, postcopy["id"]
    source, watch, since, migration = _start(env, sid)
    _wait_running(env, sid, migration)
    time.sleep(0.5)
    # SIGKILL: no clean-up at all; libvirtd's job goes on without its watcher.
    env.cloud.restart(source, sig=signal.SIGKILL)
    done = _wait_migration(env, sid, migration)
    until = time.monotonic()
    assert done["status"] == "completed", _events(env, sid)
    _assert_on(env, sid, _other(env, source))
    _guest_went_on(env, sid, watch, since, until)
