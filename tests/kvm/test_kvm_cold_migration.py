"""Scenario: cold migration, resize (confirm and revert) and evacuation of a
real guest between the two lab hosts.

The hosts share no instance storage, so every move copies the guest's disk
(the qcow2 overlay) over the source compute's HTTPS transfer endpoint. The
guest tells what it sees at every boot (guest/README.md)::

    MEM <kib> CPUS <n> DISK <bytes>    its memory, vCPUs and root disk
    DATA <hex> new|kept                a stamp it wrote on its first boot
    BOOT <n>                           the boot counter on its disk

so a move is judged from inside: on the destination the boot counter is
exactly one higher and the stamp is the one written before; a resize shows
the new memory, vCPUs and disk; a revert shows the old ones and the same
data on the source (whose agent restarts meanwhile and keeps the copy).
Evacuation rebuilds the guest on the other host while the first one's
agent and libvirtd are stopped; that host cleans up when it returns.
A stopped server moves and reverts stopped. Deleting a server waiting in
VERIFY_RESIZE leaves nothing on either host.
One guest (``mover``) goes through the tests in file order; after each, the kvm fixtures check DESIGN.md's invariants against
libvirt's domains and the instance folders (a kept ``<uuid>_resize`` copy
only while a resize waits).
"""

import os
import re
import time

import pytest

from tests.fixtures import kvm
from vmctl.virt.libvirt import guest as libvirt_guest

VERSION = "2.88"
MOVE_TIMEOUT = 240
LARGE = {"vcpus": 2, "ram": 192, "disk": 2}
MEM_RE = re.compile(r"^MEM (\d+) CPUS (\d+) DISK (\d+)$")
DATA_RE = re.compile(r"^DATA ([0-9a-f]+) (new|kept)$")
GiB = 1024 ** 3


# --- set-up -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def large_flavor(kvm_env):
    return kvm_env.cloud.create_flavor("cm.large", **LARGE)


@pytest.fixture(scope="module")
def mover(kvm_env):
    """The guest every test moves; deleted at the module's end."""
    env = kvm_env
    # No availability zone: each lab host is its own zone, and an instance
    # booted into a zone stays in it.
    server = env.api.create_server("cm-mover", flavor=env.flavor["id"], image=env.image_id)
    try:
        server = env.api.wait_for_status(server["id"], "ACTIVE", timeout=120)
        env.wait_heartbeat(server["id"], boot=1)
        yield server
    finally:
        try:
            env.delete([server["id"]])
        except Exception as exc:  # the invariants check will say what is left
            print("deleting %s failed: %s" % (server["id"], exc))


# --- what the guest says ------------------------------------------------------------------------

class Seen:
    """The guest's view of itself at its latest boot."""

    def __init__(self, console):
        self.console = console
        lines = kvm.console_lines(console.text)
        mem = [m.groups() for m in map(MEM_RE.match, lines) if m]
        data = [m.groups() for m in map(DATA_RE.match, lines) if m]
        self.mem_kib, self.cpus, self.disk = map(int, mem[-1]) if mem else (0, 0, 0)
        self.data, self.data_state = data[-1] if data else (None, None)
        self.boot = console.boot

    def __repr__(self):
        return "boot=%s mem_kib=%s cpus=%s disk=%s data=%s (%s)" % (
            self.boot, self.mem_kib, self.cpus, self.disk, self.data, self.data_state)


def _seen(env, server_id, boot):
    """Wait until the guest runs boot ``boot`` (heartbeats), then what it saw."""
    console = env.wait_heartbeat(server_id, boot=boot, timeout=120)
    return Seen(console)


# --- the API side ------------------------------------------------------------------------------

def _migrations(env, server_id):
    resp = env.api.get("os-migrations", params={"instance_uuid": server_id})
    assert resp.status_code == 200, resp.text
    return resp.json()["migrations"]


def _latest(env, server_id, kind):
    found = [m for m in _migrations(env, server_id) if m["migration_type"] == kind]
    assert found, "no %s migration of %s" % (kind, server_id)
    return max(found, key=lambda m: m["id"])


def _wait_migration(env, server_id, kind, statuses, timeout=MOVE_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        current = _latest(env, server_id, kind)
        if current["status"] in statuses:
            return current
        assert time.monotonic() < deadline, (
            "the %s of %s is %s after %ss" % (kind, server_id, current["status"], timeout))
        time.sleep(0.5)


def _act(env, server_id, body, code=202):
    resp = env.api.action(server_id, body)
    assert resp.status_code == code, (body, resp.status_code, resp.text)


def _wait_settled(env, server_id, status):
    deadline = time.monotonic() + MOVE_TIMEOUT
    while True:
        server = env.api.wait_for_status(server_id, status, timeout=MOVE_TIMEOUT)
        if server["OS-EXT-STS:task_state"] is None:
            return server
        assert time.monotonic() < deadline, server
        time.sleep(0.3)


def _other(env, host):
    return next(h for h in env.lab.names() if h != host)


def _runs_only_on(env, server_id, host):
    assert env.lab.domain_state(host, server_id) == libvirt_guest.VIR_DOMAIN_RUNNING, (
        host, env.lab.domains(host))
    other = _other(env, host)
    assert env.lab.domain_state(other, server_id) is None, (other, env.lab.domains(other))


def _kept(env, host, server_id):
    return os.path.isdir(env.cloud.instance_dir(host, server_id) + "_resize")


def _service(env, host):
    resp = env.api.get("os-services", params={"binary": "vmctl-compute", "host": host})
    assert resp.status_code == 200, resp.text
    return resp.json()["services"][0]


def _force_down(env, host, down):
    resp = env.api.put("os-services/%s" % _service(env, host)["id"],
                       json={"forced_down": down})
    assert resp.status_code == 200 and resp.json()["service"]["forced_down"] is down, resp.text


# --- the tests ---------------------------------------------------------------------------------

def test_cold_migration_carries_the_disk_and_confirm_drops_the_copy(kvm_env, mover):
    env, sid = kvm_env, mover["id"]
    source = env.host_of(env.api.server(sid))
    before = _seen(env, sid, boot=1)
    assert before.data and before.data_state == "new", before

    started = time.monotonic()
    _act(env, sid, {"migrate": None})
    server = _wait_settled(env, sid, "VERIFY_RESIZE")
    dest = env.host_of(server)
    after = _seen(env, sid, boot=before.boot + 1)
    elapsed = time.monotonic() - started
    print("cold migration %s -> %s: %.1f s to VERIFY_RESIZE and a running guest"
          % (source, dest, elapsed))

    assert dest == _other(env, source)
    _runs_only_on(env, sid, dest)
    assert _kept(env, source, sid), env.cloud.instance_dirs(source)
    assert (after.data, after.data_state) == (before.data, "kept"), (before, after)
    assert (after.mem_kib, after.cpus, after.disk) == (before.mem_kib, before.cpus,
                                                       before.disk), (before, after)
    assert _latest(env, sid, "migration")["status"] == "finished"

    _act(env, sid, {"confirmResize": None}, code=204)
    _wait_settled(env, sid, "ACTIVE")
    assert _wait_migration(env, sid, "migration", ("confirmed",))["status"] == "confirmed"
    assert not _kept(env, source, sid), env.cloud.instance_dirs(source)
    assert not os.path.exists(env.cloud.instance_dir(source, sid))
    _runs_only_on(env, sid, dest)
    env.wait_heartbeat(sid, after_seq=after.console.seq, boot=after.boot)


def test_resize_is_seen_inside_and_revert_restores_the_guest(kvm_env, mover, large_flavor):
    env, sid = kvm_env, mover["id"]
    source = env.host_of(env.api.server(sid))
    before = _seen(env, sid, boot=env.console(sid).boot)

    _act(env, sid, {"resize": {"flavorRef": large_flavor["id"]}})
    server = _wait_settled(env, sid, "VERIFY_RESIZE")
    dest = env.host_of(server)
    assert dest == _other(env, source)
    assert server["flavor"]["original_name"] == "cm.large"
    grown = _seen(env, sid, boot=before.boot + 1)
    assert grown.cpus == LARGE["vcpus"] and grown.disk == LARGE["disk"] * GiB, grown
    # MemTotal is what the kernel has left: 64 MiB more RAM shows up (minus a little).
    assert grown.mem_kib > before.mem_kib + 48 * 1024, (before, grown)
    assert (grown.data, grown.data_state) == (before.data, "kept"), (before, grown)
    assert _kept(env, source, sid)
    # The source's agent restarts while the resize waits: it keeps the copy
    # (held_migrations against the moves still under way).
    env.cloud.restart(source)
    assert _kept(env, source, sid), env.cloud.instance_dirs(source)

    _act(env, sid, {"revertResize": None})
    server = _wait_settled(env, sid, "ACTIVE")
    assert env.host_of(server) == source
    assert server["flavor"]["original_name"] == env.flavor["name"]
    assert _wait_migration(env, sid, "resize", ("reverted",))["status"] == "reverted"
    # The source's kept disk comes back as it was when the guest left it: the
    # boot the guest made on the destination is not on it.
    back = _seen(env, sid, boot=before.boot + 1)
    assert (back.mem_kib, back.cpus, back.disk) == (before.mem_kib, before.cpus,
                                                    before.disk), (before, back)
    assert (back.data, back.data_state) == (before.data, "kept"), (before, back)
    _runs_only_on(env, sid, source)
    assert not _kept(env, source, sid)
    assert not os.path.exists(env.cloud.instance_dir(dest, sid))


def test_evacuate_rebuilds_elsewhere_and_the_old_host_cleans_up(kvm_env, mover):
    env, sid = kvm_env, mover["id"]
    source = env.host_of(env.api.server(sid))
    dest = _other(env, source)
    old = env.console(sid)

    # The host "dies": its agent and its libvirtd stop (the guest's QEMU runs on).
    env.cloud.stop_compute(source)
    env.lab.stop_libvirtd(source)
    restored = False
    try:
        _force_down(env, source, True)
        resp = env.api.action(sid, {"evacuate": {}})
        assert resp.status_code in (200, 204), resp.text
        assert _wait_migration(env, sid, "evacuation", ("done", "error"))["status"] == "done"
        server = _wait_settled(env, sid, "ACTIVE")
        assert env.host_of(server) == dest
        # Rebuilt from the image: a fresh disk, a first boot.
        rebuilt = _seen(env, sid, boot=1)
        assert rebuilt.data_state == "new" and rebuilt.data != Seen(old).data, rebuilt

        env.lab.start_libvirtd(source)
        _force_down(env, source, False)
        env.cloud.start_compute(source)
        restored = True
    finally:
        if not restored:   # leave the lab usable for the next tests
            if env.lab.libvirtd_pid(source) is None or \
                    not kvm.pid_running(env.lab.libvirtd_pid(source)):
                env.lab.start_libvirtd(source)
            env.api.put("os-services/%s" % _service(env, source)["id"],
                        json={"forced_down": False})
            proc = env.cloud.processes.get(source)
            if proc is None or not proc.alive():
                env.cloud.start_compute(source)

    done = _wait_migration(env, sid, "evacuation", ("completed",))
    assert done["status"] == "completed"
    assert env.lab.domain_state(source, sid) is None, env.lab.domains(source)
    assert not os.path.exists(env.cloud.instance_dir(source, sid))
    _runs_only_on(env, sid, dest)
    # The new copy was not touched: the same boot goes on.
    env.wait_heartbeat(sid, after_seq=rebuilt.console.seq + 5, boot=rebuilt.boot)


def _shut_off_only_on(env, server_id, host):
    assert env.lab.domain_state(host, server_id) == libvirt_guest.VIR_DOMAIN_SHUTOFF, (
        host, env.lab.domains(host))
    other = _other(env, host)
    assert env.lab.domain_state(other, server_id) is None, (other, env.lab.domains(other))


def test_a_stopped_server_moves_and_reverts_stopped(kvm_env, mover):
    env, sid = kvm_env, mover["id"]
    source = env.host_of(env.api.server(sid))
    before = _seen(env, sid, boot=env.console(sid).boot)
    _act(env, sid, {"os-stop": None})
    _wait_settled(env, sid, "SHUTOFF")

    _act(env, sid, {"migrate": None})
    server = _wait_settled(env, sid, "VERIFY_RESIZE")
    dest = env.host_of(server)
    assert dest == _other(env, source)
    assert server["OS-EXT-STS:power_state"] == 4, server      # shutdown
    _shut_off_only_on(env, sid, dest)

    _act(env, sid, {"revertResize": None})
    server = _wait_settled(env, sid, "SHUTOFF")
    assert env.host_of(server) == source
    _shut_off_only_on(env, sid, source)
    assert not os.path.exists(env.cloud.instance_dir(dest, sid))

    _act(env, sid, {"os-start": None})
    _wait_settled(env, sid, "ACTIVE")
    again = _seen(env, sid, boot=before.boot + 1)
    assert (again.data, again.data_state) == (before.data, "kept"), (before, again)


def test_deleting_a_resized_server_frees_both_hosts(kvm_env, mover):
    env, sid = kvm_env, mover["id"]
    source = env.host_of(env.api.server(sid))
    _act(env, sid, {"migrate": None})
    dest = env.host_of(_wait_settled(env, sid, "VERIFY_RESIZE"))
    assert _kept(env, source, sid)
    env.delete([sid])
    deadline = time.monotonic() + MOVE_TIMEOUT
    while _kept(env, source, sid) and time.monotonic() < deadline:
        time.sleep(0.5)
    for host in (source, dest):
        assert env.lab.domain_state(host, sid) is None, (host, env.lab.domains(host))
        assert not [f for f in env.cloud.instance_dirs(host) if f.startswith(sid)], (
            host, env.cloud.instance_dirs(host))
