"""A flavor's ephemeral and swap disks on a libvirt host.

Nova's layout: beside the root ``disk`` the instance folder holds

  ``disk.eph0``  the flavor's ``ephemeral_gb`` GiB, the guest's ``vdb``
  ``disk.swap``  the flavor's ``swap`` MiB, the next device (``vdc``, or
                 ``vdb`` when the flavor has no ephemeral disk: the guest
                 names virtio disks in the order they are attached)

Both are qcow2 files without a backing file. Each is made as a sparse raw
file, formatted on the host when the tool is installed — ext4 labelled
``ephemeral0`` by ``mkfs.ext4`` (e2fsprogs), swap labelled ``swap0`` by
``mkswap`` (util-linux) — then converted to qcow2, which leaves the areas
never written unallocated: a few MiB whatever the size, so a cold
migration moves little. Without the tool the disk is left blank (zeros)
for the guest to format; which one a disk got is logged.

Moves (the hooks are in driver.py, cold_migration.py, live_migration.py):

- cold migration / resize: the files travel with ``disk`` (checksummed by
  the disk transfer; the source's kept copy holds them for a revert). The
  destination ``fit``s them to the new flavor: a missing one is created, a
  larger ephemeral disk is grown (``qemu-img resize``; its file system
  keeps its size until the guest grows it, e.g. ``resize2fs``), a larger
  swap is made anew (swap holds nothing once the guest is off). A smaller
  one is refused; the API refuses such a resize before it starts.
- block live migration: the destination pre-creates blank files of the
  flavor's sizes; libvirt copies their contents.
- revert: the kept folder and the saved domain XML come back unchanged.
"""

import collections
import contextlib
import logging
import os
import shutil
import subprocess

from vmctl.virt import driver
from vmctl.virt.libvirt import config
from vmctl.virt.libvirt import disk

LOG = logging.getLogger(__name__)

EPHEMERAL = "disk.eph0"
SWAP = "disk.swap"
FILES = (EPHEMERAL, SWAP)
MiB = 1024 ** 2
FORMAT_TIMEOUT = 120
TARGET_DEVS = ("vdb", "vdc")       # after the root disk's vda

# kind -> (tool, its arguments before the file)
FORMATTERS = {
    "ephemeral": ("mkfs.ext4", ["-q", "-F", "-L", "ephemeral0",
                                "-E", "lazy_itable_init=1,lazy_journal_init=1"]),
    "swap": ("mkswap", ["-L", "swap0"]),
}
# What a disk of each kind holds once formatted (for the log and the docs).
FORMATTED_AS = {"ephemeral": "ext4", "swap": "swap"}

LocalDisk = collections.namedtuple("LocalDisk", "name target_dev kind size_bytes")


def _flavor_int(flavor, name):
    value = flavor.get(name) if isinstance(flavor, dict) else getattr(flavor, name, 0)
    return int(value or 0)


def wanted(flavor):
    """The LocalDisks a flavor asks for, in the order they are attached."""
    sizes = [(EPHEMERAL, "ephemeral", _flavor_int(flavor, "ephemeral_gb") * disk.GiB),
             (SWAP, "swap", _flavor_int(flavor, "swap") * MiB)]
    sized = [(name, kind, size) for name, kind, size in sizes if size > 0]
    return [LocalDisk(name, dev, kind, size)
            for (name, kind, size), dev in zip(sized, TARGET_DEVS)]


def format_command(kind, path, which=shutil.which):
    """The command that formats the raw file ``path`` for ``kind`` ([]: its
    tool is not installed, the disk stays blank)."""
    tool, args = FORMATTERS[kind]
    found = which(tool)
    return [found] + args + [path] if found else []


def fit_action(local, current_size):
    """What the disk ``local`` needs when a file of ``current_size`` bytes
    (None: no file) is there: 'create', 'keep', 'grow' or 'remake'.

    Raises disk.DiskError for a smaller size: a disk never shrinks.
    """
    if current_size is None:
        return "create"
    if local.size_bytes == current_size:
        return "keep"
    if local.size_bytes < current_size:
        raise disk.DiskError("the %s disk cannot shrink (%d MiB -> %d MiB)" % (
            local.kind, current_size // MiB, local.size_bytes // MiB))
    return "remake" if local.kind == "swap" else "grow"


def present(inst_dir):
    """The local disk files in an instance folder."""
    return [name for name in FILES if os.path.exists(os.path.join(inst_dir, name))]


def guest_disks(inst_dir, flavor):
    """The <disk> elements of the flavor's local disks in ``inst_dir``."""
    return [config.GuestDisk(os.path.join(inst_dir, local.name), target_dev=local.target_dev)
            for local in wanted(flavor)]


def _format(command):
    try:
        proc = subprocess.run(command, capture_output=True, text=True,
                              timeout=FORMAT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise disk.DiskError("%s did not finish in %ss" % (
            os.path.basename(command[0]), FORMAT_TIMEOUT)) from exc
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["(no message)"]
        raise disk.DiskError("%s failed: %s" % (os.path.basename(command[0]), lines[-1]))


def make(inst_dir, local, formatted=True, which=shutil.which):
    """Write the qcow2 file of ``local`` (replacing any); how it was made:
    'ext4', 'swap' or 'blank' (unformatted, or the tool ``which`` looks for
    is not installed)."""
    path = os.path.join(inst_dir, local.name)
    raw, tmp = path + ".raw.tmp", path + ".tmp"
    try:
        with open(raw, "wb") as f:
            f.truncate(local.size_bytes)
        command = format_command(local.kind, raw, which) if formatted else []
        if command:
            _format(command)
        disk.convert(raw, "raw", tmp)
        os.replace(tmp, path)
    finally:
        for leftover in (raw, tmp):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
    how = FORMATTED_AS[local.kind] if command else "blank"
    LOG.info("Made %s of %s: %d MiB, %s", local.name, os.path.basename(inst_dir),
             local.size_bytes // MiB, how)
    return how


def _fit_one(inst_dir, local):
    path = os.path.join(inst_dir, local.name)
    size = None
    if os.path.exists(path):
        size = disk.info(path, fmt="qcow2", force_share=False)["virtual-size"]
    action = fit_action(local, size)
    if action in ("create", "remake"):
        make(inst_dir, local)
    elif action == "grow":
        disk.grow(path, local.size_bytes)
        LOG.info("Grew %s of %s to %d MiB", local.name, os.path.basename(inst_dir),
                 local.size_bytes // MiB)
    return action


@contextlib.contextmanager
def _as_virt_error(inst_dir):
    try:
        yield
    except (disk.DiskError, OSError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc)
        raise driver.VirtError("cannot set up the local disks of instance %s: %s"
                               % (os.path.basename(inst_dir), detail)) from exc


def create(inst_dir, flavor):
    """Spawn: make the flavor's local disks, formatted (VirtError on failure)."""
    with _as_virt_error(inst_dir):
        for local in wanted(flavor):
            make(inst_dir, local)


def precreate(inst_dir, flavor):
    """Block live migration's destination: blank disks of the flavor's
    sizes, for libvirt to copy the source's contents into."""
    with _as_virt_error(inst_dir):
        for local in wanted(flavor):
            make(inst_dir, local, formatted=False)


def fit(inst_dir, flavor):
    """After a cold migration / resize or an evacuation reusing the folder:
    the disks the flavor asks for, created, grown or made anew; VirtError
    when one would shrink. Returns {file name: action}."""
    with _as_virt_error(inst_dir):
        return {local.name: _fit_one(inst_dir, local) for local in wanted(flavor)}
