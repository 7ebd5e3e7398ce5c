"""A flavor's ephemeral and swap disks on libvirt (local_disks): the pure
decisions, the files made with the real qemu-img / mkfs.ext4 / mkswap when
installed, and whole moves between two drivers whose libvirt is a fake."""

import os
import shutil
import subprocess
import types
import uuid

import pytest

from tests.unit.virt.libvirt.test_libvirt_cold_migration import _driver
from tests.unit.virt.libvirt.test_libvirt_cold_migration import _instance
from tests.unit.virt.libvirt.test_libvirt_cold_migration import _move
from tests.unit.virt.libvirt.test_libvirt_cold_migration import _resized
from tests.unit.virt.libvirt.test_libvirt_cold_migration import needs_qemu_img
from tests.unit.virt.libvirt.test_libvirt_cold_migration import pair  # noqa: F401
from tests.unit.virt.libvirt.test_libvirt_driver import Images
from vmctl import instance_states as states
from vmctl.objects import flavor as flavor_obj
from vmctl.virt import driver as virt_driver
from vmctl.virt.libvirt import config
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import local_disks

MiB = 1024 * 1024
needs_formatters = pytest.mark.skipif(
    shutil.which("mkfs.ext4") is None or shutil.which("mkswap") is None,
    reason="mkfs.ext4 / mkswap are not installed")


def _flavor(ephemeral_gb=0, swap=0, name="eph", root_gb=1, memory_mb=128):
    return flavor_obj.Flavor(flavorid=name, name=name, vcpus=1, memory_mb=memory_mb,
                             root_gb=root_gb, ephemeral_gb=ephemeral_gb, swap=swap,
                             extra_specs={})


# --- pure ---------------------------------------------------------------------------------
def test_wanted_names_devices_in_attach_order():
    both = local_disks.wanted(_flavor(ephemeral_gb=2, swap=64))
    assert both == [local_disks.LocalDisk("disk.eph0", "vdb", "ephemeral", 2 * disk.GiB),
                    local_disks.LocalDisk("disk.swap", "vdc", "swap", 64 * MiB)]
    # Without an ephemeral disk the swap is the guest's second disk.
    assert local_disks.wanted({"ephemeral_gb": 0, "swap": 32}) == [
        local_disks.LocalDisk("disk.swap", "vdb", "swap", 32 * MiB)]
    assert local_disks.wanted(_flavor()) == []


def test_format_command_only_with_the_tool():
    def which(tool):
        return "/sbin/" + tool if tool == "mkswap" else None
    assert local_disks.format_command("swap", "/x", which) == ["/sbin/mkswap", "-L", "swap0",
                                                                "/x"]
    assert local_disks.format_command("ephemeral", "/x", which) == []


@pytest.mark.parametrize("kind, want, have, action", [
    ("ephemeral", 2, None, "create"),
    ("ephemeral", 2, 2, "keep"),
    ("ephemeral", 3, 2, "grow"),
    ("swap", 3, 2, "remake"),
    ("swap", 2, 2, "keep"),
])
def test_fit_action(kind, want, have, action):
    local = local_disks.LocalDisk("f", "vdb", kind, want * MiB)
    assert local_disks.fit_action(local, None if have is None else have * MiB) == action


def test_fit_action_never_shrinks():
    local = local_disks.LocalDisk("disk.swap", "vdc", "swap", 64 * MiB)
    with pytest.raises(disk.DiskError, match="swap disk cannot shrink .128 MiB -> 64 MiB"):
        local_disks.fit_action(local, 128 * MiB)


def test_guest_disks_xml():
    disks = local_disks.guest_disks("/i/u", _flavor(ephemeral_gb=1, swap=16))
    assert [(d.source_path, d.target_dev, d.driver_type) for d in disks] == [
        ("/i/u/disk.eph0", "vdb", "qcow2"), ("/i/u/disk.swap", "vdc", "qcow2")]


# --- the files ------------------------------------------------------------------------------
def _raw_bytes(path, tmp_path, offset, length):
    raw = tmp_path / (os.path.basename(path) + ".check.raw")
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", path, str(raw)],
                   check=True)
    with open(raw, "rb") as f:
        f.seek(offset)
        return f.read(length)


@needs_qemu_img
@needs_formatters
def test_made_formatted_and_small(tmp_path):
    made = {local.name: local_disks.make(str(tmp_path), local)
            for local in local_disks.wanted(_flavor(ephemeral_gb=1, swap=64))}
    assert made == {"disk.eph0": "ext4", "disk.swap": "swap"}
    eph, swap = str(tmp_path / "disk.eph0"), str(tmp_path / "disk.swap")
    assert disk.info(eph, fmt="qcow2")["virtual-size"] == disk.GiB
    assert disk.info(swap, fmt="qcow2")["virtual-size"] == 64 * MiB
    assert os.path.getsize(eph) < 16 * MiB          # the unwritten areas are not stored
    assert _raw_bytes(eph, tmp_path, 1080, 2) == b"\x53\xef"        # ext2/3/4 magic
    assert _raw_bytes(swap, tmp_path, 4086, 10) == b"SWAPSPACE2"
    assert sorted(os.listdir(tmp_path)) == ["disk.eph0", "disk.eph0.check.raw", "disk.swap",
                                            "disk.swap.check.raw"]


@needs_qemu_img
def test_blank_without_the_tool(tmp_path):
    local = local_disks.wanted(_flavor(swap=8))[0]
    assert local_disks.make(str(tmp_path), local, which=lambda tool: None) == "blank"
    assert _raw_bytes(str(tmp_path / "disk.swap"), tmp_path, 0, 8 * MiB) == bytes(8 * MiB)


@needs_qemu_img
def test_fit_refuses_to_shrink_as_a_virt_error(tmp_path):
    local_disks.create(str(tmp_path), _flavor(ephemeral_gb=2))
    with pytest.raises(virt_driver.VirtError, match="ephemeral disk cannot shrink"):
        local_disks.fit(str(tmp_path), _flavor(ephemeral_gb=1))


# --- through the driver -------------------------------------------------------------------------
def _disks_of(side, inst):
    dom = side.host.domains[inst.uuid].parsed
    return {d.target_dev: os.path.basename(d.source_path)
            for d in dom.devices_of(config.GuestDisk)}


def _size(side, inst, name):
    return disk.info(os.path.join(side.instances, inst.uuid, name),
                     fmt="qcow2")["virtual-size"]


def _write_pattern(path):
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x6b 8M 64k", path],
                   check=True, capture_output=True)


def _has_pattern(path):
    proc = subprocess.run(["qemu-io", "-f", "qcow2", "-c", "read -P 0x6b 8M 64k", path],
                          capture_output=True, text=True)
    return proc.returncode == 0 and "Pattern verification failed" not in proc.stdout


@needs_qemu_img
def test_resize_carries_grows_and_reverts(pair):  # noqa: F811
    old = _flavor(ephemeral_gb=1, swap=32, name="old")
    new = _flavor(ephemeral_gb=2, swap=64, name="new", root_gb=2)
    inst = _instance(old)
    assert pair.src.drv.spawn(inst) == states.RUNNING
    assert _disks_of(pair.src, inst) == {"vda": "disk", "vdb": "disk.eph0",
                                         "vdc": "disk.swap"}
    _write_pattern(os.path.join(pair.src.instances, inst.uuid, "disk.eph0"))
    before = pair.src.host.domains[inst.uuid].xml

    migration, manifest = _move(pair, inst, new)
    assert [f["name"] for f in manifest["files"]] == ["disk", "disk.eph0", "disk.swap"]
    resized = _resized(inst, new)
    assert pair.dst.drv.finish_migration(resized, migration, manifest, True) == states.RUNNING
    assert _disks_of(pair.dst, inst) == {"vda": "disk", "vdb": "disk.eph0",
                                         "vdc": "disk.swap"}
    assert _size(pair.dst, inst, "disk.eph0") == 2 * disk.GiB
    assert _size(pair.dst, inst, "disk.swap") == 64 * MiB
    assert _has_pattern(os.path.join(pair.dst.instances, inst.uuid, "disk.eph0"))

    pair.dst.drv.revert_migration_at_destination(resized, migration)
    assert pair.src.drv.finish_revert_migration(inst, migration) == states.RUNNING
    assert pair.src.host.domains[inst.uuid].xml == before
    assert _size(pair.src, inst, "disk.eph0") == disk.GiB
    assert _size(pair.src, inst, "disk.swap") == 32 * MiB
    assert _has_pattern(os.path.join(pair.src.instances, inst.uuid, "disk.eph0"))


@needs_qemu_img
def test_a_shrinking_finish_fails_and_the_source_reverts(pair):  # noqa: F811
    inst = _instance(_flavor(swap=64, name="old"))
    pair.src.drv.spawn(inst)
    smaller = _flavor(swap=32, name="smaller")
    migration, manifest = _move(pair, inst, smaller)
    with pytest.raises(virt_driver.VirtError, match="swap disk cannot shrink"):
        pair.dst.drv.finish_migration(_resized(inst, smaller), migration, manifest, True)
    pair.dst.drv.revert_migration_at_destination(inst, migration)
    assert pair.src.drv.finish_revert_migration(inst, migration) == states.RUNNING
    assert _size(pair.src, inst, "disk.swap") == 64 * MiB


@needs_qemu_img
def test_resize_adds_disks_the_old_flavor_lacked(pair):  # noqa: F811
    inst = _instance(_flavor(name="plain"))
    pair.src.drv.spawn(inst)
    assert _disks_of(pair.src, inst) == {"vda": "disk"}
    new = _flavor(ephemeral_gb=1, swap=16, name="more")
    migration, manifest = _move(pair, inst, new)
    assert [f["name"] for f in manifest["files"]] == ["disk"]
    pair.dst.drv.finish_migration(_resized(inst, new), migration, manifest, True)
    assert _size(pair.dst, inst, "disk.eph0") == disk.GiB
    assert _size(pair.dst, inst, "disk.swap") == 16 * MiB


@needs_qemu_img
def test_block_live_migration_precreates_blank_disks(tmp_path):
    base = tmp_path / "image"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    side = _driver(tmp_path, "dst", Images({"img": ({"disk_format": "qcow2"}, str(base))}))
    inst = _instance(_flavor(ephemeral_gb=1, swap=16))
    migration = types.SimpleNamespace(uuid=str(uuid.uuid4()), block_migration=True)
    side.drv.pre_live_migration(inst, migration, {})
    assert _size(side, inst, "disk.eph0") == disk.GiB
    assert _size(side, inst, "disk.swap") == 16 * MiB
    swap = os.path.join(side.instances, inst.uuid, "disk.swap")
    assert _raw_bytes(swap, tmp_path, 4086, 10) == bytes(10)      # blank: libvirt fills it
