"""Scenario: a flavor's ephemeral and swap disks, seen inside a real guest.

The test guest prints at every boot (guest/README.md)::

    BLK vda=<bytes>:<kind> vdb=<bytes>:<kind> vdc=...   each virtio disk:
                                    its size and what it holds (ext4|swap|raw)
    EPHDATA <hex> new|kept          a stamp in sector 1 of its ext4 disk

One guest of a flavor with a 1 GiB ephemeral disk and 64 MiB of swap goes
through the tests in file order:

1. at boot it sees vdb = 1 GiB of ext4 and vdc = 64 MiB of swap, made by
   the compute (mkfs.ext4, mkswap), and stamps vdb;
2. resized to 2 GiB / 128 MiB it sees, on the other host, vdb grown to
   2 GiB with its stamp kept and a 128 MiB swap; reverted, the source
   gives it back 1 GiB / 64 MiB and the same stamp;
3. cold-migrated, the disks and the stamp are on the other host;
4. block-live-migrated (the destination pre-creates blank disks, libvirt
   copies them), the destination's ephemeral disk holds the stamp.
"""

import os
import re
import subprocess

import pytest

from tests.fixtures import kvm
from tests.kvm.test_kvm_cold_migration import _act
from tests.kvm.test_kvm_cold_migration import _other
from tests.kvm.test_kvm_cold_migration import _runs_only_on
from tests.kvm.test_kvm_cold_migration import _wait_migration
from tests.kvm.test_kvm_cold_migration import _wait_settled
from tests.kvm.test_kvm_live_migration import _assert_on
from tests.kvm.test_kvm_live_migration import _migrate
from tests.kvm.test_kvm_live_migration import _wait_migration as _wait_live
from vmctl.virt.libvirt import disk

MiB = 1024 ** 2
GiB = 1024 ** 3
SMALL = {"name": "ld.small", "ephemeral": 1, "swap": 64}
LARGE = {"name": "ld.large", "ephemeral": 2, "swap": 128}
BLK_RE = re.compile(r"^BLK((?: \w+=\d+:\w+)*)$")
EPHDATA_RE = re.compile(r"^EPHDATA ([0-9a-f]+) (new|kept)$")


def _flavor(env, spec):
    resp = env.api.post("flavors", json={"flavor": {
        "name": spec["name"], "vcpus": 1, "ram": 128, "disk": 1,
        "OS-FLV-EXT-DATA:ephemeral": spec["ephemeral"], "swap": spec["swap"]}})
    assert resp.status_code == 200, resp.text
    return resp.json()["flavor"]


@pytest.fixture(scope="module")
def flavors(kvm_env):
    return {"small": _flavor(kvm_env, SMALL), "large": _flavor(kvm_env, LARGE)}


@pytest.fixture(scope="module")
def holder(kvm_env, flavors):
    """The guest with local disks every test moves; deleted at the module's end."""
    env = kvm_env
    server = env.api.create_server("ld-holder", flavor=flavors["small"]["id"],
                                   image=env.image_id)
    try:
        yield env.api.wait_for_status(server["id"], "ACTIVE", timeout=120)
    finally:
        try:
            env.delete([server["id"]])
        except Exception as exc:  # the invariants check will say what is left
            print("deleting %s failed: %s" % (server["id"], exc))


class Disks:
    """What the guest saw of its disks at its latest boot."""

    def __init__(self, console):
        lines = kvm.console_lines(console.text)
        blk = [m.group(1) for m in map(BLK_RE.match, lines) if m]
        stamps = [m.groups() for m in map(EPHDATA_RE.match, lines) if m]
        self.devices = {}
        for item in (blk[-1].split() if blk else []):
            dev, _, rest = item.partition("=")
            size, _, kind = rest.partition(":")
            self.devices[dev] = (int(size), kind)
        self.stamp, self.stamp_state = stamps[-1] if stamps else (None, None)
        self.boot = console.boot
        self.seq = console.seq

    def local(self):
        """{dev: (bytes, kind)} of the disks besides the root disk."""
        return {d: v for d, v in self.devices.items() if d != "vda"}

    def __repr__(self):
        return "boot=%s devices=%s ephdata=%s (%s)" % (self.boot, self.devices, self.stamp,
                                                       self.stamp_state)


def _seen(env, server_id, boot):
    return Disks(env.wait_heartbeat(server_id, boot=boot, timeout=120))


def _expected(spec):
    return {"vdb": (spec["ephemeral"] * GiB, "ext4"), "vdc": (spec["swap"] * MiB, "swap")}


def test_the_guest_sees_its_ephemeral_and_swap_disks(kvm_env, holder):
    seen = _seen(kvm_env, holder["id"], boot=1)
    assert seen.local() == _expected(SMALL), seen
    assert seen.stamp and seen.stamp_state == "new", seen


def test_resize_grows_them_and_revert_restores_them(kvm_env, holder, flavors):
    env, sid = kvm_env, holder["id"]
    source = env.host_of(env.api.server(sid))
    before = _seen(env, sid, boot=env.console(sid).boot)

    _act(env, sid, {"resize": {"flavorRef": flavors["large"]["id"]}})
    server = _wait_settled(env, sid, "VERIFY_RESIZE")
    assert env.host_of(server) == _other(env, source)
    grown = _seen(env, sid, boot=before.boot + 1)
    assert grown.local() == _expected(LARGE), grown
    assert (grown.stamp, grown.stamp_state) == (before.stamp, "kept"), (before, grown)

    _act(env, sid, {"revertResize": None})
    _wait_settled(env, sid, "ACTIVE")
    assert _wait_migration(env, sid, "resize", ("reverted",))["status"] == "reverted"
    _runs_only_on(env, sid, source)
    # The source's disk never saw the destination's boot: its counter goes on
    # from where the guest left it.
    back = _seen(env, sid, boot=before.boot + 1)
    assert back.local() == _expected(SMALL), back
    assert (back.stamp, back.stamp_state) == (before.stamp, "kept"), (before, back)


def test_cold_migration_carries_them(kvm_env, holder):
    env, sid = kvm_env, holder["id"]
    source = env.host_of(env.api.server(sid))
    before = _seen(env, sid, boot=env.console(sid).boot)
    _act(env, sid, {"migrate": None})
    server = _wait_settled(env, sid, "VERIFY_RESIZE")
    dest = env.host_of(server)
    assert dest == _other(env, source)
    after = _seen(env, sid, boot=before.boot + 1)
    assert after.local() == _expected(SMALL), after
    assert (after.stamp, after.stamp_state) == (before.stamp, "kept"), (before, after)
    _act(env, sid, {"confirmResize": None}, code=204)
    _wait_settled(env, sid, "ACTIVE")
    _runs_only_on(env, sid, dest)


def _ephemeral_stamp(path):
    """The EPHDATA stamp in sector 1 of an ephemeral disk file (guest/init),
    read beside the running guest."""
    out = subprocess.run(["qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -v 512 48", path],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    raw = b"".join(bytes.fromhex("".join(line.split(":", 1)[1].split()[:16]))
                   for line in out.splitlines()
                   if ":" in line and line[:8].strip("0123456789abcdef") == "")
    assert raw.startswith(b"VMCTLEP1"), out
    return raw[8:].rstrip(b"\0").decode()


def test_block_live_migration_copies_them(kvm_env, holder):
    env, sid = kvm_env, holder["id"]
    source = env.host_of(env.api.server(sid))
    dest = _other(env, source)
    before = _seen(env, sid, boot=env.console(sid).boot)
    migration = _migrate(env, sid, block=True, host=dest)
    assert _wait_live(env, sid, migration)["status"] == "completed"
    _assert_on(env, sid, dest)      # waits for the source's tear-down
    folder = env.cloud.instance_dir(dest, sid)
    for name, size in (("disk.eph0", GiB), ("disk.swap", 64 * MiB)):
        assert disk.info(os.path.join(folder, name), fmt="qcow2")["virtual-size"] == size
    # The destination pre-created them blank: the stamp there is libvirt's copy
    # of what the guest wrote. (Not judged by a reboot there: the persistent
    # definition still names the source's paths, issue 11 bug 2.)
    assert _ephemeral_stamp(os.path.join(folder, "disk.eph0")) == before.stamp
    env.wait_heartbeat(sid, after_seq=-1, boot=None)
