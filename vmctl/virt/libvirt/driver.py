"""The libvirt virt driver: QEMU/KVM guests on one host.

Layers (STYLE.md habit 9): ``host.Host`` owns the connection and the event
loop, ``guest.Guest`` wraps one domain, ``config`` builds the domain XML.
This driver turns vmctl instances into those calls through objects it
builds once and passes to each other explicitly:

- ``instance_files.InstanceFiles``: the instance folders under
  ``[libvirt] instances_path`` (JSON records, storage identity, ownership);
  each holds ``disk`` (a qcow2 overlay on a cached base image),
  ``console.log`` and the flavor's ephemeral and swap disks
  (``local_disks``: ``disk.eph0``, ``disk.swap``);
- ``instance_images.InstanceImages``: the images an instance boots from,
  in ``imagecache.ImageCache`` (``[libvirt] image_cache_path``);
- ``guests.Guests``: the domains of instances (errors, domain XML of a new
  guest, power-off with a clean shutdown first);
- ``live_migration.LiveMigrator``: both sides of a live migration (the job:
  ``live_job``; the paths it moves: ``paths``);
- ``cold_migration.ColdMigrator``: both sides of a cold migration / resize
  and evacuation onto shared storage (the HTTPS disk transfer: ``transfer``).

Guests get no network interface yet.
"""

import logging
import os

from vmctl import instance_states as states
from vmctl.virt import driver
from vmctl.virt.libvirt import cold_migration
from vmctl.virt.libvirt import config
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import guest as libvirt_guest
from vmctl.virt.libvirt import guests as libvirt_guests
from vmctl.virt.libvirt import host as libvirt_host
from vmctl.virt.libvirt import imagecache
from vmctl.virt.libvirt import instance_files
from vmctl.virt.libvirt import instance_images
from vmctl.virt.libvirt import live_migration
from vmctl.virt.libvirt import local_disks

LOG = logging.getLogger(__name__)

CONSOLE_TAIL_BYTES = 1024 * 1024


def tail_lines(path, length=None, max_bytes=CONSOLE_TAIL_BYTES):
    """The last ``length`` lines (all if None) of at most ``max_bytes`` of a file."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - max_bytes))
        data = f.read()
    lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
    if size > max_bytes and lines:
        lines = lines[1:]            # the first line was cut
    if length is not None:
        lines = lines[-length:] if length > 0 else []
    return "".join(lines)


def uri_is_local(uri):
    """True when libvirtd runs on this machine (so /dev/kvm is its /dev/kvm)."""
    scheme, _, rest = uri.partition("://")
    return not scheme or ("+" not in scheme and rest.startswith("/")) or (
        scheme.endswith("+unix") and rest.startswith("/"))


class LibvirtDriver(driver.ComputeDriver):
    def __init__(self, conf, image_client=None, host=None):
        self.conf = conf
        lconf = conf.libvirt
        self._host = host or libvirt_host.Host(lconf.connection_uri or None)
        self._files = instance_files.InstanceFiles(lconf.instances_path)
        self._cache = imagecache.ImageCache(lconf.image_cache_path, lconf.instances_path,
                                            lconf.image_cache_unused_seconds)
        self._images = instance_images.InstanceImages(self._cache, conf, image_client)
        self._guests = libvirt_guests.Guests(self._host, self._files, lconf)
        self.live = live_migration.LiveMigrator(conf, self._host, self._guests,
                                                 self._images, self._files)
        self.cold = cold_migration.ColdMigrator(conf, self._guests, self._images,
                                                 self._files)

    @property
    def nodename(self):
        return self._files.nodename

    # --- lifecycle -------------------------------------------------------------
    def init_host(self, host):
        self._files.nodename = host
        lconf = self.conf.libvirt
        for path in (lconf.instances_path, lconf.image_cache_path):
            os.makedirs(path, exist_ok=True)
        try:
            self._host.get_connection()
            problem = self._virt_type_problem(lconf.virt_type)
        except libvirt_host.HostError as exc:
            raise driver.VirtError(str(exc)) from exc
        if problem:
            raise driver.VirtError(problem)
        self.cold.resume_offers()
        LOG.info("libvirt driver ready on %s (%s, virt_type=%s)", host,
                 self._host.uri, lconf.virt_type)

    def _virt_type_problem(self, virt_type):
        def domcaps():
            return self._host.get_domain_capabilities(virt_type)
        if virt_type == "kvm":
            problem = libvirt_host.kvm_problem(domcaps, local=uri_is_local(self._host.uri))
            if problem:
                return ("[libvirt] virt_type = kvm, but this host cannot run KVM guests: "
                        "%s. Set [libvirt] virt_type = qemu to use software emulation "
                        "(TCG; slow)." % problem)
            return None
        try:
            domcaps()
        except Exception as exc:
            return "libvirt cannot create '%s' domains: %s" % (
                virt_type, libvirt_guests.user_message(exc))
        return None

    def register_event_handler(self, handler):
        """Call handler(uuid, power_state) on every guest power state change.

        Called from a driver thread; the handler must not block for long.
        """
        self._host.set_event_handler(handler)

    def cleanup_image_cache(self):
        """Remove cached base images unused for [libvirt] image_cache_unused_seconds.

        Meant for a periodic task of the agent. Returns the removed image ids.
        """
        try:
            return self._cache.cleanup()
        except OSError as exc:
            LOG.warning("Image cache cleanup failed: %s", exc)
            return []

    # --- spawn -------------------------------------------------------------------
    def spawn(self, instance):
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        with self._guests.translated("spawn", instance_uuid):
            self._guests.require_absent(instance_uuid)
        try:
            with self._guests.translated("spawn", instance_uuid):
                return self._spawn(instance, instance_uuid)
        except BaseException as exc:
            LOG.warning("Spawn of %s failed (%s); cleaning up", instance_uuid, exc)
            self._cleanup_instance(instance_uuid)
            if isinstance(exc, driver.VirtError):
                raise
            if isinstance(exc, Exception):
                detail = getattr(exc, "strerror", None) or ""
                raise driver.VirtError("cannot spawn instance %s: %s %s"
                                       % (instance_uuid, type(exc).__name__, detail)) from exc
            raise

    def _spawn(self, instance, instance_uuid):
        inst_dir = self._files.dir(instance_uuid)
        os.makedirs(inst_dir, exist_ok=True)
        meta, base, os_config = self._images.prepare(instance, inst_dir)
        disk_path = os.path.join(inst_dir, "disk")
        try:
            self._images.create_root_disk(instance, meta, base, disk_path)
        except disk.DiskError as exc:
            raise driver.VirtError("cannot create the root disk of instance %s: %s"
                                   % (instance_uuid, exc)) from exc
        local_disks.create(inst_dir, instance.flavor)
        domain = self._guests.domain_config(instance, instance_uuid, os_config, disk_path)
        guest = self._guests.define(domain.to_xml())
        guest.start()
        power_state = guest.power_state()
        LOG.info("Spawned %s (%s) from image %s", instance_uuid, domain.name,
                 instance.image_ref)
        return power_state

    # --- destroy -----------------------------------------------------------------
    def destroy(self, instance):
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        with self._guests.translated("destroy", instance_uuid):
            self._guests.destroy(instance_uuid)
        self._files.remove(instance_uuid)

    def _cleanup_instance(self, instance_uuid):
        """Undo a failed spawn; never raises (the original error matters)."""
        try:
            with self._guests.translated("clean up", instance_uuid):
                self._guests.destroy(instance_uuid)
        except Exception as exc:
            LOG.warning("Cleanup of the domain of %s failed: %s", instance_uuid, exc)
        try:
            self._files.remove(instance_uuid)
        except driver.VirtError as exc:
            LOG.warning("%s", exc)

    # --- power -------------------------------------------------------------------
    def power_off(self, instance):
        return self._guests.power_off(instance)

    def power_on(self, instance):
        return self._guests.power_on(instance)

    def reboot(self, instance, hard):
        with self._guests.translated("reboot", instance.uuid):
            guest = self._guests.get(instance)
            if hard:
                guest.hard_reboot()
                return guest.power_state()
            if guest.state() not in libvirt_guests.RUNNING:
                raise driver.VirtError("a soft reboot needs a running guest")
            timeout = self.conf.libvirt.clean_shutdown_timeout
            if timeout and self._guests.clean_shutdown(guest, timeout):
                guest.start()
            else:
                LOG.warning("%s did not shut down within %ss; rebooting it hard",
                            guest.uuid, timeout)
                guest.hard_reboot()
            return guest.power_state()

    def pause(self, instance):
        with self._guests.translated("pause", instance.uuid):
            guest = self._guests.get(instance)
            guest.pause()
            return guest.power_state()

    def unpause(self, instance):
        with self._guests.translated("unpause", instance.uuid):
            guest = self._guests.get(instance)
            guest.resume()
            return guest.power_state()

    def suspend(self, instance):
        with self._guests.translated("suspend", instance.uuid):
            guest = self._guests.get(instance)
            guest.managed_save()
            return guest.power_state()

    def resume(self, instance):
        with self._guests.translated("resume", instance.uuid):
            guest = self._guests.get(instance)
            if not guest.is_active():
                guest.start()
            if guest.state() == libvirt_guest.VIR_DOMAIN_PAUSED:
                guest.resume()
            return guest.power_state()

    def get_power_state(self, instance):
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        with self._guests.translated("query", instance_uuid):
            guest = self._guests.lookup(instance_uuid)
            return guest.power_state() if guest is not None else states.NOSTATE

    # --- inventory -------------------------------------------------------------
    def list_instances(self):
        """{uuid: power_state} of the domains vmctl created (others are ignored)."""
        result = {}
        with self._guests.translated("list", "(all)"):
            for guest in self._host.list_guests():
                try:
                    if guest.has_metadata(config.METADATA_NS):
                        result[guest.uuid] = guest.power_state()
                except Exception as exc:
                    if getattr(exc, "get_error_code", lambda: None)() != \
                            libvirt_host.VIR_ERR_NO_DOMAIN:
                        raise
                    # A domain undefined while we looked at it.
        return result

    def get_console_output(self, instance, length=None):
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        path = self._files.path(instance_uuid, "console.log")
        try:
            return tail_lines(path, length)
        except FileNotFoundError:
            raise driver.VirtError("instance %s has no console log on %s"
                                   % (instance_uuid, self.nodename)) from None

    def get_available_resource(self):
        lconf = self.conf.libvirt
        with self._guests.translated("inspect the host for", "(all)"):
            info = self._host.get_info()
            version = self._host.get_version()
        fs = os.statvfs(lconf.instances_path)
        return {"vcpus": int(info[2]), "memory_mb": int(info[1]),
                "local_gb": fs.f_frsize * fs.f_blocks // disk.GiB,
                "hypervisor_type": "KVM" if lconf.virt_type == "kvm" else "QEMU",
                "hypervisor_version": int(version),
                "host_ip": libvirt_host.host_address(lconf)}

    # --- evacuation (the other moves: ComputeDriver delegates to self.live, self.cold)
    def rebuild_evacuated(self, instance, migration):
        """Evacuation: reuse the disk on shared storage, else spawn from the image."""
        if self.cold.can_reuse_disk(instance, migration):
            return self.cold.rebuild_on_shared_storage(instance, migration)
        return self.spawn(instance)
