"""The fake hypervisor's model of a flavor's ephemeral and swap disks.

A fake guest's state carries them as ``local_disks``, keyed by the device
the guest sees (as on libvirt: the ephemeral disk is ``vdb``, the swap the
next one, ``vdc`` — or ``vdb`` without an ephemeral disk)::

    {"vdb": {"kind": "ephemeral", "size_mb": 1024, "format": "ext4"},
     "vdc": {"kind": "swap", "size_mb": 512, "format": "swap"}}

Spawn and live migration give a guest its flavor's disks; a cold migration
or resize carries the source's and fits them to the new flavor (a disk
never shrinks: VirtError, after the API has refused such a resize); a
revert restores the kept guest, disks included.
"""

from vmctl.virt import driver

DEVICES = ("vdb", "vdc")
FORMATS = {"ephemeral": "ext4", "swap": "swap"}


def _flavor_int(flavor, name):
    value = flavor.get(name) if isinstance(flavor, dict) else getattr(flavor, name, 0)
    return int(value or 0)


def for_flavor(flavor):
    """The local disks a new guest of ``flavor`` gets."""
    sizes = [("ephemeral", _flavor_int(flavor, "ephemeral_gb") * 1024),
             ("swap", _flavor_int(flavor, "swap"))]
    sized = [(kind, size) for kind, size in sizes if size > 0]
    return {dev: {"kind": kind, "size_mb": size, "format": FORMATS[kind]}
            for (kind, size), dev in zip(sized, DEVICES)}


def carried(previous, flavor):
    """The local disks after a cold move from a guest that had ``previous``
    to ``flavor``: the same disks, grown where the flavor is larger.

    Raises VirtError when one would shrink.
    """
    before = {d["kind"]: d for d in (previous or {}).values()}
    after = for_flavor(flavor)
    for dev, new in after.items():
        old = before.get(new["kind"])
        if old is not None and old["size_mb"] > new["size_mb"]:
            raise driver.VirtError("the %s disk cannot shrink (%d MiB -> %d MiB)" % (
                new["kind"], old["size_mb"], new["size_mb"]))
    return after
