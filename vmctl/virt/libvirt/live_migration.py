"""Live migration on libvirt: the ``LiveMigrator`` the driver delegates to.

Collaborators, given at construction: the ``host.Host`` (connection,
events), ``guests.Guests`` (domains of instances), ``instance_images.
InstanceImages`` (the image cache) and ``instance_files.InstanceFiles``
(folders, records, storage id). The job it starts is ``live_job``.

Storage. Two hosts that read the same storage id (``instance_files``)
share instance storage. The source reports its id in ``migration_source_info``; the
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

Paths. The destination reports its instances and image cache folders in
``pre_live_migration``; when they differ from this host's, both the live
and the persistent domain XML go with their paths rewritten (``paths``):
the guest on the destination never names a file of the source. On arrival
the destination checks both definitions (``post_live_migration_at_destination``).

Records. The source writes ``<instance folder>/migration.json`` when the
job starts (the migration, the destination, the flags): it lets a
restarted agent adopt the job (``adopt_live_migration``) and tells
``post_live_migration_at_source`` whether the folder is shared. The
destination's pre_live_migration writes ``incoming.json`` into a folder it
creates; rollback only removes folders carrying it.
"""

import logging
import os
import shutil
import threading
import time
import xml.etree.ElementTree as ET

from vmctl.virt import driver
from vmctl.virt import migrators
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import host as libvirt_host
from vmctl.virt.libvirt import instance_files
from vmctl.virt.libvirt import live_job as lm
from vmctl.virt.libvirt import local_disks
from vmctl.virt.libvirt import paths

LOG = logging.getLogger(__name__)

MIGRATION_RECORD = "migration.json"
INCOMING_RECORD = "incoming.json"
VIR_DOMAIN_PAUSED_MIGRATION = 2
VIR_DOMAIN_PAUSED_STARTING_UP = 11
VIR_DOMAIN_JOB_STATS_COMPLETED = 1
VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED = 2
INCOMING_JOB_END_TIMEOUT = 30


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


def destination_paths(dest_info, instance_uuid):
    """The destination's folders for the instance, as it reported them in
    ``pre_live_migration``: never guessed from this host's configuration."""
    try:
        return paths.host_paths(dest_info["instances_path"], dest_info["image_cache_path"],
                                instance_uuid)
    except KeyError as exc:
        raise driver.VirtError("the destination %s did not report its %s: cannot move the "
                               "guest's paths" % (dest_info.get("host"), exc.args[0])) from None


def destination_xmls(guest, mapping):
    """(live XML, persistent XML) for the destination, or None for each one
    that names no path to move (libvirt then keeps the source's)."""
    live = guest.xml(lm.VIR_DOMAIN_XML_MIGRATABLE)
    dest_xml = paths.rewrite_paths(live, mapping)
    persist_xml = None
    if guest.domain.isPersistent():
        inactive = guest.xml(lm.VIR_DOMAIN_XML_INACTIVE | lm.VIR_DOMAIN_XML_MIGRATABLE)
        persist_xml = paths.rewrite_paths(inactive, mapping)
        persist_xml = None if persist_xml is inactive else persist_xml
    return (None if dest_xml is live else dest_xml), persist_xml


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


class LiveMigrator(migrators.LiveMigrator):
    """Both sides of a live migration on this host.

    ``conf``: the agent's configuration ([libvirt]); ``host``: the
    ``host.Host``; ``guests``, ``images``, ``files``: the driver's
    ``Guests``, ``InstanceImages`` and ``InstanceFiles``.
    """

    def __init__(self, conf, host, guests, images, files):
        self.conf = conf
        self.host = host
        self.guests = guests
        self.images = images
        self.files = files

    @property
    def nodename(self):
        return self.files.nodename

    # --- facts ---------------------------------------------------------------------
    def _hypervisor_facts(self):
        lconf = self.conf.libvirt
        with self.guests.translated("inspect the host for", "(live migration)"):
            caps = self.host.get_capabilities()
            version = self.host.get_version()
        return {"hypervisor_type": "KVM" if lconf.virt_type == "kvm" else "QEMU",
                "hypervisor_version": int(version), "cpu_arch": host_arch(caps),
                "cpu_model": host_cpu_model(caps), "host": self.nodename,
                "storage_id": self.files.storage_id()}

    def _disk_sizes(self, guest, key):
        sizes = []
        for path in self.guests.disk_paths(guest):
            try:
                sizes.append(int(disk.info(path).get(key) or 0))
            except disk.DiskError as exc:
                LOG.warning("Cannot size disk %s: %s", path, exc)
        return sizes

    def migration_source_info(self, instance):
        facts = self._hypervisor_facts()
        with self.guests.translated("inspect", instance.uuid):
            guest = self.guests.get(instance)
            facts["disk_bytes"] = sum(self._disk_sizes(guest, "actual-size"))
        return facts

    def check_migration_destination(self, instance, block_migration, source_info):
        uuid = instance_files.checked_uuid(instance.uuid)
        try:
            mine = self._hypervisor_facts()
            with self.guests.translated("inspect", uuid):
                if self.host.lookup(uuid) is not None:
                    return False, "instance %s already has a domain on %s" % (
                        uuid, self.nodename), False
        except driver.VirtError as exc:
            return False, str(exc), False
        return destination_check(mine, source_info, block_migration,
                                 self.files.free_bytes())

    def _migration_uri(self):
        return self.conf.libvirt.migration_uri or "qemu+tcp://%s/system" % self.nodename

    def _migration_address(self):
        return libvirt_host.host_address(self.conf.libvirt)

    # --- destination ---------------------------------------------------------------
    def pre_live_migration(self, instance, migration, source_info):
        uuid = instance_files.checked_uuid(instance.uuid)
        lconf = self.conf.libvirt
        shared = not migration.block_migration
        with self.guests.translated("prepare the migration of", uuid):
            if self.host.lookup(uuid) is not None:
                raise driver.VirtError("instance %s already has a domain on %s"
                                       % (uuid, self.nodename))
        inst_dir = self.files.dir(uuid)
        if shared:
            if not os.path.exists(os.path.join(inst_dir, "disk")):
                raise driver.VirtError(
                    "the files of instance %s are not visible on %s: its instance "
                    "storage is not shared with the source" % (uuid, self.nodename))
            self.images.prepare(instance, inst_dir, write_refs=False)
        else:
            self._prepare_block_migration(instance, migration, uuid, inst_dir)
        return {"uri": self._migration_uri(),
                "migrate_uri": "tcp://%s" % self._migration_address(),
                "instances_path": lconf.instances_path,
                "image_cache_path": lconf.image_cache_path,
                "shared_storage": shared, "host": self.nodename}

    def _prepare_block_migration(self, instance, migration, uuid, inst_dir):
        if os.path.exists(inst_dir):
            raise driver.VirtError("instance %s already has a folder on %s"
                                   % (uuid, self.nodename))
        os.makedirs(inst_dir)
        try:
            instance_files.write_json(os.path.join(inst_dir, INCOMING_RECORD),
                                      {"migration": migration.uuid})
            meta, base, _os = self.images.prepare(instance, inst_dir)
            self.images.create_root_disk(instance, meta, base, os.path.join(inst_dir, "disk"))
            local_disks.precreate(inst_dir, instance.flavor)
            open(os.path.join(inst_dir, "console.log"), "a").close()
        except BaseException as exc:
            shutil.rmtree(inst_dir, ignore_errors=True)
            if isinstance(exc, disk.DiskError):
                raise driver.VirtError("cannot create the disk of instance %s on %s: %s"
                                       % (uuid, self.nodename, exc)) from exc
            raise

    def watch_arrival(self, instance, migration, fn):
        """Call ``fn()`` once, when this host's libvirt resumes the incoming
        guest at the end of its migration (RESUMED/MIGRATED: libvirt's Finish
        phase; the source's QEMU is still being stopped). A guest migrated
        paused is never resumed here: no call, the source waits for its job."""
        uuid = instance_files.checked_uuid(instance.uuid)
        fired = threading.Event()

        def on_event(event, detail):
            if (event, detail) == (libvirt_host.EVENT_RESUMED,
                                   libvirt_host.RESUMED_MIGRATED) and not fired.is_set():
                fired.set()
                fn()
        return self.host.watch_domain(uuid, on_event)

    def post_live_migration_at_destination(self, instance, migration):
        uuid = instance_files.checked_uuid(instance.uuid)
        with self.guests.translated("take over", uuid):
            guest = self.host.lookup(uuid)
            if guest is None:
                raise driver.VirtError("instance %s is not on hypervisor %s"
                                       % (uuid, self.nodename))
            dom = guest.domain
            _wait_incoming_job_end(dom, uuid)
            if not dom.isPersistent():
                self.host.define(dom.XMLDesc(lm.VIR_DOMAIN_XML_MIGRATABLE))
            self._check_own_paths(guest, uuid)
            try:
                done = dom.jobStats(VIR_DOMAIN_JOB_STATS_COMPLETED
                                    | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED)
                LOG.info("Live migration of %s arrived: downtime %s ms, %s ms in all",
                         uuid, done.get("downtime"), done.get("time_elapsed"))
            except Exception as exc:
                LOG.debug("No completed job statistics for %s: %s", uuid, exc)
        incoming = os.path.join(self.files.dir(uuid), INCOMING_RECORD)
        if os.path.exists(incoming):
            os.unlink(incoming)

    def _check_own_paths(self, guest, uuid):
        """The arrived guest names only this host's files: a persistent
        definition still naming another host's (a source that sent none)
        is replaced by the live one; a live one is only reported."""
        lconf = self.conf.libvirt
        own = (lconf.instances_path, lconf.image_cache_path)
        live = guest.xml(lm.VIR_DOMAIN_XML_MIGRATABLE)
        live_foreign = paths.foreign_paths(live, own)
        if live_foreign:
            LOG.error("Instance %s arrived on %s naming files of another host: %s",
                      uuid, self.nodename, ", ".join(live_foreign))
            return
        persistent = guest.xml(lm.VIR_DOMAIN_XML_INACTIVE | lm.VIR_DOMAIN_XML_MIGRATABLE)
        foreign = paths.foreign_paths(persistent, own)
        if foreign:
            LOG.warning("The persistent definition of %s names files of another host "
                        "(%s); defining it from the running guest", uuid, ", ".join(foreign))
            self.host.define(live)

    def rollback_live_migration_at_destination(self, instance, migration):
        uuid = instance_files.checked_uuid(instance.uuid)
        with self.guests.translated("roll back the migration of", uuid):
            guest = self.host.lookup(uuid)
            if guest is not None:
                state, reason = guest.domain.state()
                incoming = guest.is_active() and state == lm.VIR_DOMAIN_PAUSED and \
                    reason in (VIR_DOMAIN_PAUSED_MIGRATION, VIR_DOMAIN_PAUSED_STARTING_UP)
                if guest.is_active() and not incoming:
                    LOG.error("Rollback of migration %s: instance %s runs on %s (state %s/"
                              "%s); left alone", migration.uuid, uuid, self.nodename,
                              state, reason)
                    return
                guest.destroy()
                guest.undefine()
                LOG.info("Removed the failed incoming domain of %s", uuid)
        inst_dir = self.files.dir(uuid)
        record = instance_files.read_json(os.path.join(inst_dir, INCOMING_RECORD))
        if migration.block_migration and record and record.get("migration") == migration.uuid:
            self.files.remove(uuid)
            LOG.info("Removed the folder pre_live_migration made for %s", uuid)

    # --- source ----------------------------------------------------------------------
    def live_migration_start(self, instance, migration, dest_info, policy):
        uuid = instance_files.checked_uuid(instance.uuid)
        lconf = self.conf.libvirt
        block = bool(migration.block_migration)
        shared = bool(dest_info.get("shared_storage")) and not block
        flags = lm.migration_flags(policy, block, shared)
        mapping = paths.destination_mapping(
            paths.host_paths(lconf.instances_path, lconf.image_cache_path, uuid),
            destination_paths(dest_info, uuid))
        with self.guests.translated("live-migrate", uuid):
            guest = self.guests.get(instance)
            dest_xml, persist_xml = destination_xmls(guest, mapping)
            disk_sizes = self._disk_sizes(guest, "virtual-size") if block else []
        params = lm.migration_params(dest_info, policy, dest_xml, persist_xml)
        instance_files.write_json(os.path.join(self.files.dir(uuid), MIGRATION_RECORD), {
            "uuid": migration.uuid, "instance_uuid": uuid,
            "source_compute": migration.source_compute, "source_node": migration.source_node,
            "dest_compute": migration.dest_compute, "dest_node": migration.dest_node,
            "block_migration": block, "shared_storage": shared, "flags": flags,
            "dconnuri": dest_info["uri"], "disk_sizes": disk_sizes})
        LOG.info("Live-migrating %s to %s (%s, flags %#x%s)", uuid, dest_info["uri"],
                 params.get(lm.PARAM_URI), flags, ", paths rewritten for %s" % (
                     mapping,) if lm.PARAM_DEST_XML in params else "")
        job = lm.LibvirtMigrationJob(
            self.host.open_private_connection, uuid, dest_info["uri"], params, flags,
            lambda: self.guests.domain_or_none(uuid), disk_sizes=disk_sizes)
        return job.start()

    def post_live_migration_at_source(self, instance):
        """Idempotent: the domain went with UNDEFINE_SOURCE; remove the folder
        unless it is shared with the destination (then only the record)."""
        uuid = instance_files.checked_uuid(instance.uuid)
        with self.guests.translated("clean up after migrating", uuid):
            guest = self.host.lookup(uuid)
            if guest is not None:
                if guest.is_active():
                    LOG.error("Instance %s still runs on %s after its migration; its "
                              "files are kept", uuid, self.nodename)
                    return
                guest.undefine()
        inst_dir = self.files.dir(uuid)
        record = instance_files.read_json(os.path.join(inst_dir, MIGRATION_RECORD))
        if record is None:
            return
        if record.get("shared_storage"):
            os.unlink(os.path.join(inst_dir, MIGRATION_RECORD))
        else:
            self.files.remove(uuid)

    def adopt_live_migration(self, instance):
        """The outgoing migration job of ``instance`` still running in libvirt
        (after an agent restart), or None."""
        uuid = instance_files.checked_uuid(instance.uuid)
        record = instance_files.read_json(os.path.join(self.files.dir(uuid), MIGRATION_RECORD))
        if not record:
            return None
        with self.guests.translated("inspect", uuid):
            dom = self.guests.domain_or_none(uuid)
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
            lambda: self.guests.domain_or_none(uuid), record, flags=int(record.get("flags", 0)),
            disk_sizes=record.get("disk_sizes") or ())
        watch_domain = getattr(self.host, "watch_domain", None)
        return job.watch(watch_domain, uuid) if watch_domain else job

