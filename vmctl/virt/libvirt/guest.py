"""One libvirt domain, with methods named after what vmctl means to do.

libvirt-python is imported lazily (only when a domain is actually handled)
so that the pure helpers here can be used and tested without it.
"""

import logging
import time

from vmctl import instance_states as states

LOG = logging.getLogger(__name__)

# virDomainState values (stable libvirt ABI; kept here so the mapping is
# testable without libvirt-python).
VIR_DOMAIN_NOSTATE = 0
VIR_DOMAIN_RUNNING = 1
VIR_DOMAIN_BLOCKED = 2
VIR_DOMAIN_PAUSED = 3
VIR_DOMAIN_SHUTDOWN = 4
VIR_DOMAIN_SHUTOFF = 5
VIR_DOMAIN_CRASHED = 6
VIR_DOMAIN_PMSUSPENDED = 7

# libvirt domain state -> vmctl power_state. A shut-off domain with a
# managed-save image is SUSPENDED (handled in power_state_from_libvirt).
_POWER_STATES = {
    VIR_DOMAIN_NOSTATE: states.NOSTATE,
    VIR_DOMAIN_RUNNING: states.RUNNING,
    VIR_DOMAIN_BLOCKED: states.RUNNING,       # running, waiting on I/O
    VIR_DOMAIN_PAUSED: states.POWER_PAUSED,
    VIR_DOMAIN_SHUTDOWN: states.SHUTDOWN,     # being shut down
    VIR_DOMAIN_SHUTOFF: states.SHUTDOWN,
    VIR_DOMAIN_CRASHED: states.CRASHED,
    VIR_DOMAIN_PMSUSPENDED: states.POWER_SUSPENDED,
}


def power_state_from_libvirt(state, has_managed_save=False):
    """vmctl power_state of a domain in libvirt ``state``."""
    if state == VIR_DOMAIN_SHUTOFF and has_managed_save:
        return states.POWER_SUSPENDED
    return _POWER_STATES.get(state, states.NOSTATE)


def _libvirt():
    import libvirt
    return libvirt


class Guest:
    """Wraps a virDomain. Methods block until libvirt returns."""

    def __init__(self, domain):
        self._domain = domain

    @property
    def domain(self):
        """The virDomain itself (for the live migration job)."""
        return self._domain

    @property
    def uuid(self):
        return self._domain.UUIDString()

    @property
    def name(self):
        return self._domain.name()

    def xml(self, flags=0):
        return self._domain.XMLDesc(flags)

    def state(self):
        """The raw libvirt domain state (an int)."""
        return self._domain.state()[0]

    def is_active(self):
        return bool(self._domain.isActive())

    def has_managed_save(self):
        return bool(self._domain.hasManagedSaveImage(0))

    def power_state(self):
        state = self.state()
        managed = state == VIR_DOMAIN_SHUTOFF and self.has_managed_save()
        return power_state_from_libvirt(state, managed)

    def has_metadata(self, namespace):
        """True when the domain carries an element in ``namespace``."""
        libvirt = _libvirt()
        try:
            self._domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, namespace, 0)
            return True
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
                return False
            raise

    # --- power ---------------------------------------------------------------
    def start(self):
        """Boot the domain (restores a managed save when there is one)."""
        self._domain.createWithFlags(0)

    def shutdown(self):
        """Ask the guest OS to power off (ACPI power button)."""
        libvirt = _libvirt()
        self._domain.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)

    def destroy(self):
        """Pull the plug. A domain that is not running is left as it is."""
        libvirt = _libvirt()
        try:
            self._domain.destroy()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise
            # "domain is not running": already off.

    def pause(self):
        self._domain.suspend()

    def resume(self):
        self._domain.resume()

    def managed_save(self):
        """Save memory to disk and stop; start() restores it, running."""
        libvirt = _libvirt()
        self._domain.managedSave(libvirt.VIR_DOMAIN_SAVE_RUNNING)

    def remove_managed_save(self):
        if self.has_managed_save():
            self._domain.managedSaveRemove(0)

    def reboot_acpi(self):
        """Soft reboot through the guest (libvirt's ACPI fake reboot)."""
        libvirt = _libvirt()
        self._domain.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)

    def hard_reboot(self):
        """Destroy and start again from the domain's definition."""
        self.destroy()
        self.remove_managed_save()
        self.start()

    def undefine(self):
        """Remove the definition, with its managed save and NVRAM."""
        libvirt = _libvirt()
        flags = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                 | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        try:
            self._domain.undefineFlags(flags)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return
            raise

    def wait_for_state(self, wanted, timeout, interval=0.5, on_tick=None):
        """Poll until the libvirt state is in ``wanted``; bounded by ``timeout``.

        Returns True when reached. ``on_tick(elapsed)`` runs between polls
        (e.g. to repeat an ACPI request the guest missed).
        """
        deadline = time.monotonic() + timeout
        start = time.monotonic()
        while True:
            if self.state() in wanted:
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            time.sleep(min(interval, deadline - now))
            if on_tick is not None:
                on_tick(time.monotonic() - start)
