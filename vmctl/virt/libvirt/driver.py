"""The libvirt virt driver: QEMU/KVM guests on one host.

Layers (STYLE.md habit 9): ``host.Host`` owns the connection and the event
loop, ``guest.Guest`` wraps one domain, ``config`` builds the domain XML.
This module turns vmctl instances into those calls.

Each instance lives in ``[libvirt] instances_path/<uuid>/``: ``disk`` (a
qcow2 overlay on a base image in ``[libvirt] image_cache_path``),
``console.log`` (the serial port), ``images.json`` (the cached images it
uses) and the flavor's ephemeral and swap disks (``local_disks``: ``disk.eph0``,
``disk.swap``). Guests get no network interface yet. Live migration:
``live_migration.LiveMigrationMixin`` and ``migration`` (the job); cold
migration and resize: ``cold_migration.ColdMigrationMixin`` and
``transfer`` (the HTTPS disk transfer).
"""

import contextlib
import logging
import os
import shutil
import socket
import uuid as uuidlib

from vmctl import states
from vmctl.virt import driver
from vmctl.virt.libvirt import cold_migration
from vmctl.virt.libvirt import config
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import guest as libvirt_guest
from vmctl.virt.libvirt import host as libvirt_host
from vmctl.virt.libvirt import imagecache
from vmctl.virt.libvirt import live_migration
from vmctl.virt.libvirt import local_disks

LOG = logging.getLogger(__name__)

ROOT_FORMATS = ("raw", "qcow2")
# Formats accepted for the kernel / ramdisk of a direct-kernel-boot image.
BOOT_FILE_FORMATS = {"kernel_id": ("aki", "raw"), "ramdisk_id": ("ari", "raw")}
DEFAULT_CMDLINE = "root=/dev/vda console=ttyS0"
CONSOLE_TAIL_BYTES = 1024 * 1024
# While waiting for a clean shutdown, repeat the ACPI request this often: a
# request sent before the guest's ACPI daemon runs is lost.
ACPI_RETRY_SECONDS = 10

_OFF = (libvirt_guest.VIR_DOMAIN_SHUTOFF, libvirt_guest.VIR_DOMAIN_CRASHED)
_RUNNING = (libvirt_guest.VIR_DOMAIN_RUNNING, libvirt_guest.VIR_DOMAIN_BLOCKED)


def domain_name(instance_uuid):
    return "instance-%s" % instance_uuid


def checked_uuid(value):
    """The canonical form of an instance uuid; VirtError for anything else.

    The uuid names a folder that destroy() removes: never trust it raw.
    """
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        raise driver.VirtError("invalid instance uuid %r" % (value,)) from None


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


def kernel_cmdline(cmdline):
    """The image's command line with the serial console ensured."""
    cmdline = (cmdline or "").strip() or DEFAULT_CMDLINE
    if "console=ttyS0" not in cmdline.split():
        cmdline += " console=ttyS0"
    return cmdline


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


def first_non_loopback_ipv4():
    """The first IPv4 address of a non-loopback interface (or 127.0.0.1)."""
    import fcntl
    import struct
    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _index, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(sock.fileno(), siocgifaddr,
                                     struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                return address
    return "127.0.0.1"


def _image_error_class():
    from vmctl.image import client as image_client
    return image_client.ImageError


def _user_message(exc):
    get = getattr(exc, "get_error_message", None)
    return get() if get else str(exc)


class LibvirtDriver(live_migration.LiveMigrationMixin, cold_migration.ColdMigrationMixin,
                    driver.ComputeDriver):
    def __init__(self, conf, image_client=None, host=None):
        self.conf = conf
        self._host = host or libvirt_host.Host(conf.libvirt.connection_uri or None)
        self._image_client = image_client
        self._nodename = None
        self._cache = imagecache.ImageCache(conf.libvirt.image_cache_path,
                                            conf.libvirt.instances_path,
                                            conf.libvirt.image_cache_unused_seconds)

    @property
    def nodename(self):
        return self._nodename

    @property
    def image_client(self):
        if self._image_client is None:
            from vmctl.image import client as image_client
            self._image_client = image_client.ImageClient(self.conf)
        return self._image_client

    # --- lifecycle -------------------------------------------------------------
    def init_host(self, host):
        self._nodename = host
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
        self.resume_offers()
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
            return "libvirt cannot create '%s' domains: %s" % (virt_type, _user_message(exc))
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

    # --- helpers -----------------------------------------------------------------
    def _instance_dir(self, instance_uuid):
        return os.path.join(self.conf.libvirt.instances_path, instance_uuid)

    @contextlib.contextmanager
    def _translated(self, action, instance_uuid):
        """libvirt failures as VirtError('cannot <action> instance X: ...')."""
        try:
            yield
        except driver.VirtError:
            raise
        except libvirt_host.HostError as exc:
            raise driver.VirtError(str(exc)) from exc
        except Exception as exc:
            if libvirt_host.error_is_connection_lost(exc):
                self._host.invalidate()
            if not hasattr(exc, "get_error_code"):
                raise
            raise driver.VirtError("cannot %s instance %s: %s"
                                   % (action, instance_uuid, _user_message(exc))) from exc

    def _guest(self, instance):
        instance_uuid = checked_uuid(instance.uuid)
        guest = self._host.lookup(instance_uuid)
        if guest is None:
            raise driver.VirtError("instance %s is not on hypervisor %s"
                                   % (instance_uuid, self._nodename))
        return guest

    # --- spawn -------------------------------------------------------------------
    def spawn(self, instance):
        instance_uuid = checked_uuid(instance.uuid)
        with self._translated("spawn", instance_uuid):
            if self._host.lookup(instance_uuid) is not None:
                raise driver.VirtError("instance %s already exists on hypervisor %s"
                                       % (instance_uuid, self._nodename))
        try:
            with self._translated("spawn", instance_uuid):
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
        inst_dir = self._instance_dir(instance_uuid)
        os.makedirs(inst_dir, exist_ok=True)
        meta, base, os_config = self._prepare_images(instance, inst_dir)
        disk_path = os.path.join(inst_dir, "disk")
        try:
            virtual_size = disk.info(base, fmt=meta["disk_format"])["virtual-size"]
            size = disk.root_disk_size(instance.flavor.root_gb, virtual_size)
            disk.create_overlay(base, meta["disk_format"], disk_path, size)
        except disk.DiskError as exc:
            raise driver.VirtError("cannot create the root disk of instance %s: %s"
                                   % (instance_uuid, exc)) from exc
        local_disks.create(inst_dir, instance.flavor)
        domain = self._domain_config(instance, instance_uuid, os_config, disk_path)
        guest = self._host.define(domain.to_xml())
        guest.start()
        power_state = guest.power_state()
        LOG.info("Spawned %s (%s) from image %s", instance_uuid, domain.name,
                 instance.image_ref)
        return power_state

    def _prepare_images(self, instance, inst_dir, write_refs=True):
        """The instance's images in this host's cache, recorded in its folder
        (unless ``write_refs`` is false: a folder another host shares and
        already recorded): (root image meta, base image path, the <os> config)."""
        image_id = instance.image_ref
        meta = self._image_meta(image_id, ROOT_FORMATS, "disk_format")
        boot_files = self._boot_file_metas(image_id, meta)
        if write_refs:
            imagecache.write_instance_refs(
                inst_dir, [image_id] + [m["id"] for m in boot_files.values()])
        base = self._fetch(image_id, meta["disk_format"])
        paths = {key: self._fetch(m["id"], m["disk_format"]) for key, m in boot_files.items()}
        os_config = config.GuestOS()
        if "kernel_id" in paths:
            os_config = config.GuestOS(kernel=paths["kernel_id"],
                                       initrd=paths.get("ramdisk_id"),
                                       cmdline=kernel_cmdline(meta.get("os_command_line")))
        return meta, base, os_config

    def _domain_config(self, instance, instance_uuid, os_config, disk_path):
        lconf = self.conf.libvirt
        flavor = instance.flavor
        console_path = os.path.join(self._instance_dir(instance_uuid), "console.log")
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

    def _show_image(self, image_id):
        try:
            return self.image_client.show(image_id)
        except _image_error_class() as exc:
            raise driver.VirtError("image %s is not available: %s" % (image_id, exc)) from exc

    def _image_meta(self, image_id, formats, what):
        if not imagecache.valid_image_id(image_id):
            raise driver.VirtError("invalid image id %r" % (image_id,))
        meta = self._show_image(image_id)
        if meta.get("status", "active") != "active":
            raise driver.VirtError("image %s is not active (status %s)"
                                   % (image_id, meta.get("status")))
        disk_format = meta.get("disk_format")
        if disk_format not in formats:
            raise driver.VirtError("image %s has unsupported disk_format %s"
                                   % (image_id, disk_format))
        return meta

    def _boot_file_metas(self, image_id, meta):
        """{'kernel_id': meta, 'ramdisk_id': meta} of a direct-kernel-boot image."""
        if meta.get("ramdisk_id") and not meta.get("kernel_id"):
            raise driver.VirtError("image %s has a ramdisk_id but no kernel_id" % image_id)
        metas = {}
        for key, formats in BOOT_FILE_FORMATS.items():
            file_id = meta.get(key)
            if file_id:
                metas[key] = self._image_meta(file_id, formats, key)
                metas[key].setdefault("id", file_id)
        return metas

    def _fetch(self, image_id, disk_format):
        def verify(path):
            if disk_format in ROOT_FORMATS:
                disk.check_base_image(path, disk_format)
        try:
            return self._cache.fetch(image_id, disk_format, self.image_client.download, verify)
        except disk.DiskError as exc:
            raise driver.VirtError("image %s is unusable: %s" % (image_id, exc)) from exc
        except _image_error_class() as exc:
            # Its message names the image already; faults keep 255 characters.
            raise driver.VirtError("download failed: %s" % exc) from exc

    # --- destroy -----------------------------------------------------------------
    def destroy(self, instance):
        instance_uuid = checked_uuid(instance.uuid)
        with self._translated("destroy", instance_uuid):
            self._destroy_domain(instance_uuid)
        self._remove_instance_dir(instance_uuid)

    def _destroy_domain(self, instance_uuid):
        guest = self._host.lookup(instance_uuid)
        if guest is not None:
            guest.destroy()
            guest.undefine()
            LOG.info("Destroyed domain of %s", instance_uuid)

    def _remove_instance_dir(self, instance_uuid):
        inst_dir = self._instance_dir(instance_uuid)
        owner = cold_migration.folder_owner(inst_dir)
        if owner is not None and owner != self._nodename:
            LOG.info("Leaving the folder of %s: it belongs to %s (shared storage)",
                     instance_uuid, owner)
            return
        try:
            shutil.rmtree(inst_dir)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise driver.VirtError("cannot remove the files of instance %s: %s"
                                   % (instance_uuid, exc.strerror)) from exc

    def _cleanup_instance(self, instance_uuid):
        """Undo a failed spawn; never raises (the original error matters)."""
        try:
            with self._translated("clean up", instance_uuid):
                self._destroy_domain(instance_uuid)
        except Exception as exc:
            LOG.warning("Cleanup of the domain of %s failed: %s", instance_uuid, exc)
        try:
            self._remove_instance_dir(instance_uuid)
        except driver.VirtError as exc:
            LOG.warning("%s", exc)

    # --- power -------------------------------------------------------------------
    def power_off(self, instance):
        with self._translated("power off", instance.uuid):
            guest = self._guest(instance)
            state = guest.state()
            timeout = self.conf.libvirt.clean_shutdown_timeout
            if state in _RUNNING and timeout and not self._clean_shutdown(guest, timeout):
                LOG.warning("%s did not power off within %ss; destroying it",
                            guest.uuid, timeout)
            if guest.state() not in _OFF or guest.is_active():
                guest.destroy()
            return guest.power_state()

    def _clean_shutdown(self, guest, timeout):
        """ACPI power button, repeated until the guest is off or time is up."""
        sent = {"at": 0.0}
        guest.shutdown()

        def repeat(elapsed):
            if elapsed - sent["at"] >= ACPI_RETRY_SECONDS:
                sent["at"] = elapsed
                with contextlib.suppress(Exception):
                    guest.shutdown()
        return guest.wait_for_state(_OFF, timeout, on_tick=repeat)

    def power_on(self, instance):
        with self._translated("power on", instance.uuid):
            guest = self._guest(instance)
            if not guest.is_active():
                guest.start()
            return guest.power_state()

    def reboot(self, instance, hard):
        with self._translated("reboot", instance.uuid):
            guest = self._guest(instance)
            if hard:
                guest.hard_reboot()
                return guest.power_state()
            if guest.state() not in _RUNNING:
                raise driver.VirtError("a soft reboot needs a running guest")
            timeout = self.conf.libvirt.clean_shutdown_timeout
            if timeout and self._clean_shutdown(guest, timeout):
                guest.start()
            else:
                LOG.warning("%s did not shut down within %ss; rebooting it hard",
                            guest.uuid, timeout)
                guest.hard_reboot()
            return guest.power_state()

    def pause(self, instance):
        with self._translated("pause", instance.uuid):
            guest = self._guest(instance)
            guest.pause()
            return guest.power_state()

    def unpause(self, instance):
        with self._translated("unpause", instance.uuid):
            guest = self._guest(instance)
            guest.resume()
            return guest.power_state()

    def suspend(self, instance):
        with self._translated("suspend", instance.uuid):
            guest = self._guest(instance)
            guest.managed_save()
            return guest.power_state()

    def resume(self, instance):
        with self._translated("resume", instance.uuid):
            guest = self._guest(instance)
            if not guest.is_active():
                guest.start()
            if guest.state() == libvirt_guest.VIR_DOMAIN_PAUSED:
                guest.resume()
            return guest.power_state()

    def get_power_state(self, instance):
        instance_uuid = checked_uuid(instance.uuid)
        with self._translated("query", instance_uuid):
            guest = self._host.lookup(instance_uuid)
            return guest.power_state() if guest is not None else states.NOSTATE

    # --- inventory -------------------------------------------------------------
    def list_instances(self):
        """{uuid: power_state} of the domains vmctl created (others are ignored)."""
        result = {}
        with self._translated("list", "(all)"):
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
        instance_uuid = checked_uuid(instance.uuid)
        path = os.path.join(self._instance_dir(instance_uuid), "console.log")
        try:
            return tail_lines(path, length)
        except FileNotFoundError:
            raise driver.VirtError("instance %s has no console log on %s"
                                   % (instance_uuid, self._nodename)) from None

    def get_available_resource(self):
        lconf = self.conf.libvirt
        with self._translated("inspect the host for", "(all)"):
            info = self._host.get_info()
            version = self._host.get_version()
        fs = os.statvfs(lconf.instances_path)
        return {"vcpus": int(info[2]), "memory_mb": int(info[1]),
                "local_gb": fs.f_frsize * fs.f_blocks // disk.GiB,
                "hypervisor_type": "KVM" if lconf.virt_type == "kvm" else "QEMU",
                "hypervisor_version": int(version),
                "host_ip": lconf.host_ip or first_non_loopback_ipv4()}
