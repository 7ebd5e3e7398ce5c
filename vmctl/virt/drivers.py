"""The virt drivers by name: ``[compute] compute_driver`` picks one."""

from vmctl.virt import fake
from vmctl.virt.libvirt import driver as libvirt_driver

DRIVERS = {
    "fake": fake.FakeDriver,
    "libvirt": libvirt_driver.LibvirtDriver,
}


def load(conf):
    """The driver ``conf.compute.compute_driver`` names, built on ``conf``."""
    name = conf.compute.compute_driver
    if name not in DRIVERS:
        raise ValueError("Unknown compute_driver %r" % name)
    return DRIVERS[name](conf)
