"""The guests of this host as the driver and its migrators use them.

``Guests`` wraps ``host.Host`` for vmctl instances: libvirt failures as
``VirtError``s that name the instance, the domain of an instance (or an
error saying it is not here), the domain XML a new guest gets, and the
power-off with a clean shutdown first. The driver, the live migrator and
the cold migrator share one.
"""

import contextlib
import logging
import os

from vmctl.virt import driver
from vmctl.virt.libvirt import config
from vmctl.virt.libvirt import guest as libvirt_guest
from vmctl.virt.libvirt import host as libvirt_host
from vmctl.virt.libvirt import instance_files
from vmctl.virt.libvirt import local_disks

LOG = logging.getLogger(__name__)

# While waiting for a clean shutdown, repeat the ACPI request this often: a
# request sent before the guest's ACPI daemon runs is lost.
ACPI_RETRY_SECONDS = 10

OFF = (libvirt_guest.VIR_DOMAIN_SHUTOFF, libvirt_guest.VIR_DOMAIN_CRASHED)
RUNNING = (libvirt_guest.VIR_DOMAIN_RUNNING, libvirt_guest.VIR_DOMAIN_BLOCKED)


def domain_name(instance_uuid):
    return "instance-%s" % instance_uuid


def cpu_config(virt_type, cpu_mode, cpu_model):
    """The <cpu> element for the configured mode (None: libvirt's default)."""
    if cpu_mode == "none":
        return None
    if cpu_mode == "custom":
        if not cpu_model:
            raise driver.VirtError("[libvirt] cpu_mode=custom needs cpu_model")
        return config.GuestCPU("custom", cpu_model)
    if virt_type == "qemu":
        return None   # host-model/passthrough mean nothing under TCG
    return config.GuestCPU(cpu_mode)


def user_message(exc):
    get = getattr(exc, "get_error_message", None)
    return get() if get else str(exc)


class Guests:
    def __init__(self, host, files, libvirt_conf):
        self.host = host
        self.files = files
        self.lconf = libvirt_conf

    @contextlib.contextmanager
    def translated(self, action, instance_uuid):
        """libvirt failures as VirtError('cannot <action> instance X: ...')."""
        try:
            yield
        except driver.VirtError:
            raise
        except libvirt_host.HostError as exc:
            raise driver.VirtError(str(exc)) from exc
        except Exception as exc:
            if libvirt_host.error_is_connection_lost(exc):
                self.host.invalidate()
            if not hasattr(exc, "get_error_code"):
                raise
            raise driver.VirtError("cannot %s instance %s: %s"
                                   % (action, instance_uuid, user_message(exc))) from exc

    def lookup(self, instance_uuid):
        return self.host.lookup(instance_uuid)

    def domain_or_none(self, instance_uuid):
        guest = self.host.lookup(instance_uuid)
        return guest.domain if guest is not None else None

    def get(self, instance):
        """The guest of ``instance``; VirtError when it is not on this host."""
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        guest = self.host.lookup(instance_uuid)
        if guest is None:
            raise driver.VirtError("instance %s is not on hypervisor %s"
                                   % (instance_uuid, self.files.nodename))
        return guest

    def require_absent(self, instance_uuid):
        if self.host.lookup(instance_uuid) is not None:
            raise driver.VirtError("instance %s already exists on hypervisor %s"
                                   % (instance_uuid, self.files.nodename))

    def define(self, xml):
        return self.host.define(xml)

    def destroy(self, instance_uuid):
        """Stop and undefine the domain of ``instance_uuid`` if there is one."""
        guest = self.host.lookup(instance_uuid)
        if guest is not None:
            guest.destroy()
            guest.undefine()
            LOG.info("Destroyed domain of %s", instance_uuid)

    def domain_config(self, instance, instance_uuid, os_config, disk_path):
        """The domain of a new guest: the flavor, the root disk, the flavor's
        ephemeral and swap disks (``local_disks``), the console log."""
        lconf = self.lconf
        flavor = instance.flavor
        console_path = self.files.path(instance_uuid, "console.log")
        metadata = config.GuestMetadata(
            name=instance.display_name, flavor_name=flavor.name,
            memory_mb=flavor.memory_mb, vcpus=flavor.vcpus, root_gb=flavor.root_gb,
            image_id=instance.image_ref)
        devices = [config.GuestDisk(disk_path),
                   *local_disks.guest_disks(os.path.dirname(disk_path), flavor),
                   config.GuestSerialFile(console_path),
                   config.GuestConsole(console_path)]
        return config.GuestDomain(
            lconf.virt_type, domain_name(instance_uuid), instance_uuid,
            flavor.memory_mb, flavor.vcpus, os=os_config,
            cpu=cpu_config(lconf.virt_type, lconf.cpu_mode, lconf.cpu_model),
            devices=devices, metadata=metadata)

    def disk_paths(self, guest):
        parsed = config.GuestDomain.parse_xml(guest.xml())
        return [d.source_path for d in parsed.devices_of(config.GuestDisk) if d.source_path]

    # --- power ---------------------------------------------------------------------
    def power_off(self, instance):
        """ACPI power button (bounded by clean_shutdown_timeout), then destroy."""
        with self.translated("power off", instance.uuid):
            guest = self.get(instance)
            state = guest.state()
            timeout = self.lconf.clean_shutdown_timeout
            if state in RUNNING and timeout and not self.clean_shutdown(guest, timeout):
                LOG.warning("%s did not power off within %ss; destroying it",
                            guest.uuid, timeout)
            if guest.state() not in OFF or guest.is_active():
                guest.destroy()
            return guest.power_state()

    def clean_shutdown(self, guest, timeout):
        """ACPI power button, repeated until the guest is off or time is up."""
        sent = {"at": 0.0}
        guest.shutdown()

        def repeat(elapsed):
            if elapsed - sent["at"] >= ACPI_RETRY_SECONDS:
                sent["at"] = elapsed
                with contextlib.suppress(Exception):
                    guest.shutdown()
        return guest.wait_for_state(OFF, timeout, on_tick=repeat)

    def power_on(self, instance):
        with self.translated("power on", instance.uuid):
            guest = self.get(instance)
            if not guest.is_active():
                guest.start()
            return guest.power_state()

