"""The libvirt driver's live migration methods (a mixin of LibvirtDriver).

Storage. ``[libvirt] instances_path`` holds ``.vmctl-storage-id`` (a random
uuid written once): two hosts that read the same id share instance
storage. The source reports its id in ``migration_source_info``; the
destination compares it with its own in ``check_migration_destination``.
Shared storage -> plain live migration (the instance folder is the same
files); otherwise block migration (NON_SHARED_INC): the destination
pre-creates the instance folder, fetches the base image, kernel and
ramdisk through its image cache and creates the same qcow2 overlay on
them and blank ephemeral and swap disks of the flavor's sizes
(``local_disks.precreate``), and libvirt copies their contents. Block
migration on shared storage is refused (it would copy a disk onto itself). The conductor
resolves block_migration='auto' from the destination's answer, so a
destination learns from ``migration.block_migration`` whether storage is
shared.

Paths. When the destination keeps instances or cached images elsewhere, the
domain XML's paths are rewritten (VIR_MIGRATE_PARAM_DESTINATION_XML).

Records. The source writes ``<instance folder>/migration.json`` when the
job starts (the migration, the destination, the flags): it lets a
restarted agent adopt the job (``adopt_live_migration``) and tells
``post_live_migration_at_source`` whether the folder is shared. The
destination's pre_live_migration writes ``incoming.json`` into a folder it
creates; rollback only removes folders carrying it.
"""

import json
import logging
import os
import shutil
import threading
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET

from vmctl.virt import driver
from vmctl.virt.libvirt import config
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import host as libvirt_host
from vmctl.virt.libvirt import local_disks
from vmctl.virt.libvirt import migration as lm

LOG = logging.getLogger(__name__)

STORAGE_ID_FILE = ".vmctl-storage-id"
MIGRATION_RECORD = "migration.json"
INCOMING_RECORD = "incoming.json"
VIR_DOMAIN_PAUSED_MIGRATION = 2
VIR_DOMAIN_PAUSED_STARTING_UP = 11
VIR_DOMAIN_JOB_STATS_COMPLETED = 1
VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED = 2
INCOMING_JOB_END_TIMEOUT = 30


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        LOG.warning("Unreadable %s: %s", path, exc)
        return None


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def storage_id(instances_path):
    """The id of the storage behind ``instances_path`` (created once, atomically)."""
    path = os.path.join(instances_path, STORAGE_ID_FILE)
    for _attempt in range(3):
        try:
            with open(path) as f:
                value = f.read().strip()
            if value:
                return value
        except FileNotFoundError:
            pass
        os.makedirs(instances_path, exist_ok=True)
        tmp = "%s.%s.tmp" % (path, uuidlib.uuid4().hex)
        with open(tmp, "w") as f:
            f.write(str(uuidlib.uuid4()))
        try:
            os.link(tmp, path)          # fails if another host/agent made it first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    raise driver.VirtError("cannot read the storage id %s" % path)


def host_arch(capabilities_xml):
    found = ET.fromstring(capabilities_xml).find("host/cpu/arch")
    return found.text.strip() if found is not None and found.text else None


def host_cpu_model(capabilities_xml):
    found = ET.fromstring(capabilities_xml).find("host/cpu/model")
    return found.text.strip() if found is not None and found.text else None


def destination_check(mine, source_info, block_migration, free_bytes):
    """(ok, reason, shared_storage): may this host receive the instance?

    ``mine``: this host's facts in the shape of ``migration_source_info``.
    ``block_migration``: True, False or 'auto'.
    """
    theirs = source_info or {}
    if theirs.get("hypervisor_type") != mine["hypervisor_type"]:
        return False, "hypervisor type %s differs from this host's %s" % (
            theirs.get("hypervisor_type"), mine["hypervisor_type"]), False
    if int(theirs.get("hypervisor_version") or 0) > mine["hypervisor_version"]:
        return False, "the source's hypervisor (version %s) is newer than this host's " \
            "(%s)" % (theirs.get("hypervisor_version"), mine["hypervisor_version"]), False
    if theirs.get("cpu_arch") and mine.get("cpu_arch") and \
            theirs["cpu_arch"] != mine["cpu_arch"]:
        return False, "CPU architecture %s differs from this host's %s" % (
            theirs["cpu_arch"], mine["cpu_arch"]), False
    shared = bool(theirs.get("storage_id")) and theirs["storage_id"] == mine["storage_id"]
    if block_migration is False and not shared:
        return False, ("source and destination do not share instance storage: "
                       "block migration is required"), False
    if block_migration is True and shared:
        return False, ("source and destination share instance storage: block "
                       "migration is not possible (the disks are the same files)"), True
    if not shared:
        needed = int(theirs.get("disk_bytes") or 0)
        if needed > free_bytes:
            return False, "block migration needs %d MiB free, this host has %d MiB" % (
                needed >> 20, free_bytes >> 20), False
    return True, None, shared


def _wait_incoming_job_end(dom, uuid, timeout=INCOMING_JOB_END_TIMEOUT, poll=0.05):
    """Called early (the source learnt of the arrival from the resume event),
    libvirt may still be finishing the incoming job here (making the domain
    persistent): wait for it, bounded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = dom.jobInfo()
        except Exception as exc:
            LOG.debug("jobInfo of %s: %s", uuid, exc)
            return
        if not info or info[0] not in lm.ACTIVE_JOB_TYPES:
            return
        if time.monotonic() >= deadline:
            LOG.warning("The incoming migration job of %s still runs after %ss; taking "
                        "the guest over anyway", uuid, timeout)
            return
        time.sleep(poll)


class LiveMigrationMixin:
    """Needs LibvirtDriver's _host, conf, _cache, _guest, _instance_dir, ..."""

    # --- facts ---------------------------------------------------------------------
    def _hypervisor_facts(self):
        lconf = self.conf.libvirt
        with self._translated("inspect the host for", "(live migration)"):
            caps = self._host.get_capabilities()
            version = self._host.get_version()
        return {"hypervisor_type": "KVM" if lconf.virt_type == "kvm" else "QEMU",
                "hypervisor_version": int(version), "cpu_arch": host_arch(caps),
                "cpu_model": host_cpu_model(caps), "host": self._nodename,
                "storage_id": storage_id(lconf.instances_path)}

    def _domain_disks(self, guest):
        parsed = config.GuestDomain.parse_xml(guest.xml())
        return [d.source_path for d in parsed.devices_of(config.GuestDisk) if d.source_path]

    def _disk_sizes(self, guest, key):
        sizes = []
        for path in self._domain_disks(guest):
            try:
                sizes.append(int(disk.info(path).get(key) or 0))
            except disk.DiskError as exc:
                LOG.warning("Cannot size disk %s: %s", path, exc)
        return sizes

    def migration_source_info(self, instance):
        facts = self._hypervisor_facts()
        with self._translated("inspect", instance.uuid):
            guest = self._guest(instance)
            facts["disk_bytes"] = sum(self._disk_sizes(guest, "actual-size"))
        return facts

    def check_migration_destination(self, instance, block_migration, source_info):
        uuid = self._checked(instance)
        try:
            mine = self._hypervisor_facts()
            with self._translated("inspect", uuid):
                if self._host.lookup(uuid) is not None:
                    return False, "instance %s already has a domain on %s" % (
                        uuid, self._nodename), False
        except driver.VirtError as exc:
            return False, str(exc), False
        fs = os.statvfs(self.conf.libvirt.instances_path)
        return destination_check(mine, source_info, block_migration,
                                 fs.f_bavail * fs.f_frsize)

    def _checked(self, instance):
        from vmctl.virt.libvirt import driver as libvirt_driver
        return libvirt_driver.checked_uuid(instance.uuid)

    def _migration_uri(self):
        return self.conf.libvirt.migration_uri or "qemu+tcp://%s/system" % self._nodename

    def _migration_address(self):
        from vmctl.virt.libvirt import driver as libvirt_driver
        return self.conf.libvirt.host_ip or libvirt_driver.first_non_loopback_ipv4()

    # --- destination ---------------------------------------------------------------
    def pre_live_migration(self, instance, migration, source_info):
        uuid = self._checked(instance)
        lconf = self.conf.libvirt
        shared = not migration.block_migration
        with self._translated("prepare the migration of", uuid):
            if self._host.lookup(uuid) is not None:
                raise driver.VirtError("instance %s already has a domain on %s"
                                       % (uuid, self._nodename))
        inst_dir = self._instance_dir(uuid)
        if shared:
            if not os.path.exists(os.path.join(inst_dir, "disk")):
                raise driver.VirtError(
                    "the files of instance %s are not visible on %s: its instance "
                    "storage is not shared with the source" % (uuid, self._nodename))
            self._prepare_images(instance, inst_dir, write_refs=False)
        else:
            self._prepare_block_migration(instance, migration, uuid, inst_dir)
        return {"uri": self._migration_uri(),
                "migrate_uri": "tcp://%s" % self._migration_address(),
                "instances_path": lconf.instances_path,
                "image_cache_path": lconf.image_cache_path,
                "shared_storage": shared, "host": self._nodename}

    def _prepare_block_migration(self, instance, migration, uuid, inst_dir):
        if os.path.exists(inst_dir):
            raise driver.VirtError("instance %s already has a folder on %s"
                                   % (uuid, self._nodename))
        os.makedirs(inst_dir)
        try:
            write_json(os.path.join(inst_dir, INCOMING_RECORD),
                       {"migration": migration.uuid})
            meta, base, _os = self._prepare_images(instance, inst_dir)
            virtual = disk.info(base, fmt=meta["disk_format"])["virtual-size"]
            size = disk.root_disk_size(instance.flavor.root_gb, virtual)
            disk.create_overlay(base, meta["disk_format"], os.path.join(inst_dir, "disk"),
                                size)
            local_disks.precreate(inst_dir, instance.flavor)
            open(os.path.join(inst_dir, "console.log"), "a").close()
        except BaseException as exc:
            shutil.rmtree(inst_dir, ignore_errors=True)
            if isinstance(exc, disk.DiskError):
                raise driver.VirtError("cannot create the disk of instance %s on %s: %s"
                                       % (uuid, self._nodename, exc)) from exc
            raise

    def watch_arrival(self, instance, migration, fn):
        """Call ``fn()`` once, when this host's libvirt resumes the incoming
        guest at the end of its migration (RESUMED/MIGRATED: libvirt's Finish
        phase; the source's QEMU is still being stopped). A guest migrated
        paused is never resumed here: no call, the source waits for its job."""
        uuid = self._checked(instance)
        fired = threading.Event()

        def on_event(event, detail):
            if (event, detail) == (libvirt_host.EVENT_RESUMED,
                                   libvirt_host.RESUMED_MIGRATED) and not fired.is_set():
                fired.set()
                fn()
        return self._host.watch_domain(uuid, on_event)

    def post_live_migration_at_destination(self, instance, migration):
        uuid = self._checked(instance)
        with self._translated("take over", uuid):
            guest = self._host.lookup(uuid)
            if guest is None:
                raise driver.VirtError("instance %s is not on hypervisor %s"
                                       % (uuid, self._nodename))
            dom = guest.domain
            _wait_incoming_job_end(dom, uuid)
            if not dom.isPersistent():
                self._host.define(dom.XMLDesc(lm.VIR_DOMAIN_XML_MIGRATABLE))
            try:
                done = dom.jobStats(VIR_DOMAIN_JOB_STATS_COMPLETED
                                    | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED)
                LOG.info("Live migration of %s arrived: downtime %s ms, %s ms in all",
                         uuid, done.get("downtime"), done.get("time_elapsed"))
            except Exception as exc:
                LOG.debug("No completed job statistics for %s: %s", uuid, exc)
        incoming = os.path.join(self._instance_dir(uuid), INCOMING_RECORD)
        if os.path.exists(incoming):
            os.unlink(incoming)

    def rollback_live_migration_at_destination(self, instance, migration):
        uuid = self._checked(instance)
        with self._translated("roll back the migration of", uuid):
            guest = self._host.lookup(uuid)
            if guest is not None:
                state, reason = guest.domain.state()
                incoming = guest.is_active() and state == lm.VIR_DOMAIN_PAUSED and \
                    reason in (VIR_DOMAIN_PAUSED_MIGRATION, VIR_DOMAIN_PAUSED_STARTING_UP)
                if guest.is_active() and not incoming:
                    LOG.error("Rollback of migration %s: instance %s runs on %s (state %s/"
                              "%s); left alone", migration.uuid, uuid, self._nodename,
                              state, reason)
                    return
                guest.destroy()
                guest.undefine()
                LOG.info("Removed the failed incoming domain of %s", uuid)
        inst_dir = self._instance_dir(uuid)
        record = read_json(os.path.join(inst_dir, INCOMING_RECORD))
        if migration.block_migration and record and record.get("migration") == migration.uuid:
            self._remove_instance_dir(uuid)
            LOG.info("Removed the folder pre_live_migration made for %s", uuid)

    # --- source ----------------------------------------------------------------------
    def live_migration_start(self, instance, migration, dest_info, policy):
        uuid = self._checked(instance)
        lconf = self.conf.libvirt
        block = bool(migration.block_migration)
        shared = bool(dest_info.get("shared_storage")) and not block
        flags = lm.migration_flags(policy, block, shared)
        with self._translated("live-migrate", uuid):
            guest = self._guest(instance)
            xml = guest.xml(lm.VIR_DOMAIN_XML_MIGRATABLE)
            dest_xml = lm.rewrite_paths(xml, {
                self._instance_dir(uuid): os.path.join(
                    dest_info.get("instances_path") or lconf.instances_path, uuid),
                lconf.image_cache_path: dest_info.get("image_cache_path")
                or lconf.image_cache_path})
            disk_sizes = self._disk_sizes(guest, "virtual-size") if block else []
        params = lm.migration_params(dest_info, policy, dest_xml if dest_xml != xml else None)
        write_json(os.path.join(self._instance_dir(uuid), MIGRATION_RECORD), {
            "uuid": migration.uuid, "instance_uuid": uuid,
            "source_compute": migration.source_compute, "source_node": migration.source_node,
            "dest_compute": migration.dest_compute, "dest_node": migration.dest_node,
            "block_migration": block, "shared_storage": shared, "flags": flags,
            "dconnuri": dest_info["uri"], "disk_sizes": disk_sizes})
        LOG.info("Live-migrating %s to %s (%s, flags %#x%s)", uuid, dest_info["uri"],
                 params.get(lm.PARAM_URI), flags, ", paths rewritten" if
                 lm.PARAM_DEST_XML in params else "")
        job = lm.LibvirtMigrationJob(
            self._open_migration_connection, uuid, dest_info["uri"], params, flags,
            lambda: self._domain_or_none(uuid), disk_sizes=disk_sizes)
        return job.start()

    def _open_migration_connection(self):
        import libvirt

        libvirt_host.start_event_loop()
        conn = libvirt.open(self._host.uri)
        try:
            conn.setKeepAlive(5, 3)
        except libvirt.libvirtError as exc:
            LOG.warning("No keepalive on the migration connection: %s", exc)
        return conn

    def _domain_or_none(self, uuid):
        guest = self._host.lookup(uuid)
        return guest.domain if guest is not None else None

    def post_live_migration_at_source(self, instance):
        """Idempotent: the domain went with UNDEFINE_SOURCE; remove the folder
        unless it is shared with the destination (then only the record)."""
        uuid = self._checked(instance)
        with self._translated("clean up after migrating", uuid):
            guest = self._host.lookup(uuid)
            if guest is not None:
                if guest.is_active():
                    LOG.error("Instance %s still runs on %s after its migration; its "
                              "files are kept", uuid, self._nodename)
                    return
                guest.undefine()
        inst_dir = self._instance_dir(uuid)
        record = read_json(os.path.join(inst_dir, MIGRATION_RECORD))
        if record is None:
            return
        if record.get("shared_storage"):
            os.unlink(os.path.join(inst_dir, MIGRATION_RECORD))
        else:
            self._remove_instance_dir(uuid)

    def adopt_live_migration(self, instance):
        """The outgoing migration job of ``instance`` still running in libvirt
        (after an agent restart), or None."""
        uuid = self._checked(instance)
        record = read_json(os.path.join(self._instance_dir(uuid), MIGRATION_RECORD))
        if not record:
            return None
        with self._translated("inspect", uuid):
            dom = self._domain_or_none(uuid)
            if dom is None:
                return None
            try:
                info, stats = dom.jobInfo(), dom.jobStats()
            except Exception as exc:
                LOG.warning("Cannot read the job of %s: %s", uuid, exc)
                return None
        if not lm.is_outgoing_migration(info, stats):
            return None
        LOG.info("Adopting the running live migration %s of %s to %s", record.get("uuid"),
                 uuid, record.get("dest_compute"))
        job = lm.AdoptedMigrationJob(
            lambda: self._domain_or_none(uuid), record, flags=int(record.get("flags", 0)),
            disk_sizes=record.get("disk_sizes") or ())
        watch_domain = getattr(self._host, "watch_domain", None)
        return job.watch(watch_domain, uuid) if watch_domain else job

