"""Cold migration and resize on libvirt: the ``ColdMigrator`` the driver
delegates to. Collaborators, given at construction: ``guests.Guests``
(domains of instances), ``instance_images.InstanceImages`` (the image
cache) and ``instance_files.InstanceFiles`` (folders, records, storage id).

Source (``migrate_disk_and_power_off``): the guest is powered off (ACPI,
bounded by ``[libvirt] clean_shutdown_timeout``, then destroyed), its
persistent domain XML is saved as ``domain.xml`` and what the move needs
as ``resize.json`` (mode 0600: the migration, the per-migration token, the
files with their sizes and SHA-256, the power state it had), the instance
folder is renamed ``<uuid>_resize`` and the domain is undefined. The
folder's ``disk`` (the qcow2 overlay) and the flavor's ephemeral and
swap disks (``local_disks``: ``disk.eph0``, ``disk.swap``) are then
offered on the compute's HTTPS transfer endpoint (``transfer.py``); the
manifest names its URL, the token and the endpoint certificate's SHA-256.

Destination (``finish_migration``): a new ``<uuid>`` folder marked with
``resize-incoming.json`` (only folders carrying the migration's mark are
ever removed by a revert), the image, kernel and ramdisk fetched into this
host's image cache, the overlay pulled with ``disk_transfer.pull``
(checksummed, resumed from the bytes already written), re-pointed at the
local cached base image (``qemu-img rebase -u``: same image, other path),
grown to the new flavor's root disk, the ephemeral and swap disks fitted
to the new flavor (``local_disks.fit``: created, grown, never shrunk), and
a domain defined with the new flavor's vCPUs and memory; started if the
guest was running.

Revert at the source renames ``<uuid>_resize`` back, defines the saved
XML and starts the guest if it ran: the old flavor, disk and power state,
exactly. A saved definition naming another folder of the instance (another
host's, left by a live migration before issue 11's fix) is pointed at this
host's folder first (``paths.relocate_instance_paths``). Confirm removes ``<uuid>_resize`` and stops offering it.

Shared storage (``prepare_migration_target`` returns this host's storage
id; equal ids mean one instances path): nothing crosses the network; the
destination copies the kept overlay to the new folder, checked the same way.

Evacuation (``rebuild_on_shared_storage``) reuses the disk when the
instance's folder is already here (shared storage, ``can_reuse_disk``) and
marks the folder with ``owner.json`` = this host once the guest runs;
``destroy`` on any other host (the old host's clean-up when it returns)
then removes only its domain, never the folder. Without the folder the
driver spawns the guest from the image.
"""

import contextlib
import logging
import os
import shutil
import threading

from vmctl import instance_states as states
from vmctl.virt import disk_transfer
from vmctl.virt import driver
from vmctl.virt import migrators
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import host as libvirt_host
from vmctl.virt.libvirt import instance_files
from vmctl.virt.libvirt import local_disks
from vmctl.virt.libvirt import paths
from vmctl.virt.libvirt import transfer

LOG = logging.getLogger(__name__)

RECORD = "resize.json"
DOMAIN_XML = "domain.xml"
INCOMING = "resize-incoming.json"
FILES = ("disk",) + local_disks.FILES
VIR_DOMAIN_XML_INACTIVE = 2


def is_shared(dest_info, storage_id):
    """The destination reads this host's instances path (same storage id)."""
    theirs = (dest_info or {}).get("storage_id")
    return bool(theirs) and theirs == storage_id


def transfer_url(address, port, migration_uuid):
    return "https://%s:%d/migrations/%s/" % (transfer.host_for_url(address), port,
                                             migration_uuid)


def checked_files(manifest):
    """The manifest's file names, all of them ones a move may carry."""
    names = [entry.get("name") for entry in manifest.get("files") or []]
    strange = [n for n in names if n not in FILES]
    if strange or not names:
        raise driver.VirtError("the migration manifest names unexpected files %s"
                               % (strange or "(none)"))
    return names


def restored_power_on(record):
    return record.get("power_state") == states.RUNNING


class ColdMigrator(migrators.ColdMigrator):
    """Both sides of a cold migration or resize on this host, and the HTTPS
    endpoint that offers the kept disks (started while something is offered).
    """

    def __init__(self, conf, guests, images, files):
        self.conf = conf
        self.guests = guests
        self.images = images
        self.files = files
        self._endpoint = None
        self._endpoint_lock = threading.Lock()
        self._offers = None

    @property
    def nodename(self):
        return self.files.nodename

    # --- the transfer endpoint ------------------------------------------------------
    def _serve(self, migration_uuid, token, files):
        """Offer ``files`` for a migration; the endpoint (started if needed)."""
        with self._endpoint_lock:
            if self._offers is None:
                self._offers = transfer.Offers()
            if self._endpoint is None:
                group = self.conf.cold_migration
                self._endpoint = transfer.TransferServer(
                    group.listen_address, group.listen_port, self._offers,
                    common_name=self.nodename or "vmctl").start()
            self._offers.add(migration_uuid, token, files)
            return self._endpoint

    def _advertised_address(self):
        return self.conf.cold_migration.advertise_address or libvirt_host.host_address(self.conf.libvirt)

    def _stop_offering(self, migration_uuid):
        """Withdraw an offer; the endpoint stops when nothing is offered."""
        with self._endpoint_lock:
            if self._offers is not None:
                self._offers.remove(migration_uuid)
            if self._endpoint is not None and not self._offers:
                self._endpoint.stop()
                self._endpoint = None
                LOG.info("Disk transfer endpoint stopped: nothing is offered")

    def _storage_id(self):
        return self.files.storage_id()

    def _kept_dir(self, instance_uuid):
        return self.files.kept_dir(instance_uuid)

    def _kept_record(self, instance_uuid):
        record = instance_files.read_json(os.path.join(self._kept_dir(instance_uuid), RECORD))
        if record is None or record.get("source_host") != self.nodename:
            return None     # another host's, on shared storage
        return record

    # --- destination: ready? ------------------------------------------------------------
    def prepare_migration_target(self, instance, migration):
        instance_files.checked_uuid(instance.uuid)
        return {"host": self.nodename, "storage_id": self._storage_id()}

    # --- source: power off, keep, offer ---------------------------------------------------
    def migrate_disk_and_power_off(self, instance, migration, dest_info):
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        record = self._kept_record(instance_uuid)
        if record is None:
            record = self._keep_for_revert(instance, instance_uuid, migration)
        elif record["migration_uuid"] != migration.uuid:
            raise driver.VirtError("hypervisor %s still keeps instance %s for migration %s"
                                   % (self.nodename, instance_uuid, record["migration_uuid"]))
        return self._offer(instance_uuid, record, is_shared(dest_info, self._storage_id()))

    def _keep_for_revert(self, instance, instance_uuid, migration):
        with self.guests.translated("migrate", instance_uuid):
            guest = self.guests.get(instance)
            power_state = guest.power_state()
            xml = guest.xml(VIR_DOMAIN_XML_INACTIVE)
        self.guests.power_off(instance)
        inst_dir = self.files.dir(instance_uuid)
        try:
            record = {"migration_uuid": migration.uuid, "instance_uuid": instance_uuid,
                      "source_host": self.nodename, "token": disk_transfer.new_token(),
                      "power_state": power_state,
                      "files": [transfer.file_entry(n, os.path.join(inst_dir, n))
                                for n in ["disk"] + local_disks.present(inst_dir)]}
            with open(os.path.join(inst_dir, DOMAIN_XML), "w") as f:
                f.write(paths.relocate_instance_paths(xml, instance_uuid, inst_dir))
            instance_files.write_private_json(os.path.join(inst_dir, RECORD), record)
            os.rename(inst_dir, self._kept_dir(instance_uuid))
        except OSError as exc:
            self._undo_keep(instance, inst_dir, power_state)
            raise driver.VirtError("cannot keep the disk of instance %s: %s"
                                   % (instance_uuid, exc.strerror or exc)) from exc
        try:
            with self.guests.translated("migrate", instance_uuid):
                guest.undefine()
        except BaseException:
            os.rename(self._kept_dir(instance_uuid), inst_dir)
            self._undo_keep(instance, inst_dir, power_state)
            raise
        LOG.info("Powered off %s and kept it in %s for migration %s", instance_uuid,
                 os.path.basename(self._kept_dir(instance_uuid)), migration.uuid)
        return record

    def _undo_keep(self, instance, inst_dir, power_state):
        """The move failed before the guest left: leave it as it was."""
        for name in (RECORD, DOMAIN_XML):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(inst_dir, name))
        if power_state == states.RUNNING:
            with contextlib.suppress(driver.VirtError):
                self.guests.power_on(instance)

    def _offer(self, instance_uuid, record, shared):
        migration_uuid = record["migration_uuid"]
        url = fingerprint = token = None
        if not shared:
            folder = self._kept_dir(instance_uuid)
            endpoint = self._serve(migration_uuid, record["token"],
                                   {f["name"]: os.path.join(folder, f["name"])
                                    for f in record["files"]})
            url = transfer_url(self._advertised_address(), endpoint.port, migration_uuid)
            fingerprint, token = endpoint.fingerprint, record["token"]
        manifest = disk_transfer.manifest(migration_uuid, self.nodename, record["files"],
                                          url=url, token=token, shared_storage=shared)
        manifest.update(instance_uuid=instance_uuid, tls_sha256=fingerprint)
        return manifest

    def resume_offers(self):
        """After a restart: offer the kept copies again (same token)."""
        for instance_uuid, record in self._held_records():
            self._offer(instance_uuid, record, shared=False)

    # --- destination: pull, define ---------------------------------------------------------
    def _incoming_of(self, instance_uuid):
        mark = instance_files.read_json(os.path.join(self.files.dir(instance_uuid),
                                                     INCOMING))
        return (mark or {}).get("migration_uuid")

    def finish_migration(self, instance, migration, manifest, power_on):
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        inst_dir = self.files.dir(instance_uuid)
        with self.guests.translated("finish the migration of", instance_uuid):
            mine = self._incoming_of(instance_uuid) == migration.uuid
            guest = self.guests.lookup(instance_uuid)
            if mine and guest is not None:
                return guest.power_state()
            if guest is not None or (os.path.exists(inst_dir) and not mine):
                raise driver.VirtError("instance %s already exists on hypervisor %s"
                                       % (instance_uuid, self.nodename))
            os.makedirs(inst_dir, exist_ok=True)
            instance_files.write_json(os.path.join(inst_dir, INCOMING),
                                      {"migration_uuid": migration.uuid})
            return self._receive(instance, instance_uuid, inst_dir, manifest, power_on)

    def _receive(self, instance, instance_uuid, inst_dir, manifest, power_on):
        names = checked_files(manifest)
        meta, base, os_config = self.images.prepare(instance, inst_dir)
        self._copy_files(instance_uuid, inst_dir, manifest, names)
        disk_path = os.path.join(inst_dir, "disk")
        try:
            disk.rebase_unsafe(disk_path, base, meta["disk_format"])
            virtual_size = disk.info(base, fmt=meta["disk_format"])["virtual-size"]
            disk.grow(disk_path, disk.root_disk_size(instance.flavor.root_gb, virtual_size))
        except disk.DiskError as exc:
            raise driver.VirtError("cannot set up the disk of instance %s: %s"
                                   % (instance_uuid, exc)) from exc
        local_disks.fit(inst_dir, instance.flavor)
        domain = self.guests.domain_config(instance, instance_uuid, os_config, disk_path)
        guest = self.guests.define(domain.to_xml())
        if power_on:
            guest.start()
        LOG.info("Received %s (%s vCPUs, %s MiB) from %s", instance_uuid,
                 instance.flavor.vcpus, instance.flavor.memory_mb, manifest["source_host"])
        return guest.power_state()

    def _copy_files(self, instance_uuid, inst_dir, manifest, names):
        if manifest.get("shared_storage"):
            source = transfer.LocalSource(self._kept_dir(instance_uuid))
        else:
            source = transfer.HttpSource(manifest)
        target = transfer.DirTarget(inst_dir)
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(inst_dir, name))
        group = self.conf.cold_migration
        try:
            disk_transfer.pull(manifest, source, target, group.transfer_attempts,
                               group.transfer_retry_delay)
        except disk_transfer.TransferError as exc:
            raise driver.VirtError("disk transfer from %s failed: %s"
                                   % (manifest.get("source_host"), exc)) from None
        for name in names:
            target.commit(name)

    def revert_migration_at_destination(self, instance, migration):
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        mark = self._incoming_of(instance_uuid)
        if mark is None or (migration is not None and mark != migration.uuid):
            return      # not made by this migration: never touch it
        self._remove_incoming(instance_uuid)

    def _remove_incoming(self, instance_uuid):
        with self.guests.translated("revert the migration of", instance_uuid):
            self.guests.destroy(instance_uuid)
        self.files.remove(instance_uuid)

    # --- source: revert, confirm -------------------------------------------------------------
    def finish_revert_migration(self, instance, migration):
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        inst_dir = self.files.dir(instance_uuid)
        record = self._kept_record(instance_uuid)
        if record is not None and record["migration_uuid"] == migration.uuid:
            self._stop_offering(migration.uuid)
            self._clear_the_way(instance_uuid, migration)
            os.rename(self._kept_dir(instance_uuid), inst_dir)
        else:
            record = instance_files.read_json(os.path.join(inst_dir, RECORD))
            if record is None or record.get("migration_uuid") != migration.uuid:
                return self._restored_already(instance, instance_uuid, inst_dir)
        with self.guests.translated("revert the migration of", instance_uuid):
            with open(os.path.join(inst_dir, DOMAIN_XML)) as f:
                xml = paths.relocate_instance_paths(f.read(), instance_uuid, inst_dir)
            guest = self.guests.define(xml)
            if restored_power_on(record) and not guest.is_active():
                guest.start()
            power_state = guest.power_state()
        for name in (RECORD, DOMAIN_XML):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(inst_dir, name))
        LOG.info("Restored %s from migration %s", instance_uuid, migration.uuid)
        return power_state

    def _clear_the_way(self, instance_uuid, migration):
        """A same-host resize's new folder (when its revert did not run)."""
        if not os.path.exists(self.files.dir(instance_uuid)):
            return
        if self._incoming_of(instance_uuid) != migration.uuid:
            raise driver.VirtError("instance %s has other files on hypervisor %s; the kept "
                                   "copy is in %s" % (instance_uuid, self.nodename,
                                                      self._kept_dir(instance_uuid)))
        self._remove_incoming(instance_uuid)

    def _restored_already(self, instance, instance_uuid, inst_dir):
        with self.guests.translated("revert the migration of", instance_uuid):
            guest = self.guests.lookup(instance_uuid)
            if guest is not None and os.path.isdir(inst_dir):
                return guest.power_state()
        raise driver.VirtError("hypervisor %s kept nothing of %s to revert to"
                               % (self.nodename, instance_uuid))

    def confirm_migration(self, instance, migration):
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        record = self._kept_record(instance_uuid)
        if record is None or (migration is not None
                              and record["migration_uuid"] != migration.uuid):
            return
        self._stop_offering(record["migration_uuid"])
        try:
            shutil.rmtree(self._kept_dir(instance_uuid))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise driver.VirtError("cannot remove the kept copy of instance %s: %s"
                                   % (instance_uuid, exc.strerror)) from exc
        LOG.info("Dropped the copy of %s kept for migration %s", instance_uuid,
                 record["migration_uuid"])

    # --- evacuation on shared storage -------------------------------------------------------
    def can_reuse_disk(self, instance, migration):
        """Evacuation: the instance's folder, with its disk, is here already
        (shared storage) and no other host took it over."""
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        inst_dir = self.files.dir(instance_uuid)
        if not os.path.isfile(os.path.join(inst_dir, "disk")) or \
                self._incoming_of(instance_uuid) is not None:
            return False
        owner = instance_files.folder_owner(inst_dir)
        return owner is None or owner == migration.source_compute

    def rebuild_on_shared_storage(self, instance, migration):
        """Evacuation onto the disk ``can_reuse_disk`` found: the guest again
        on this host; its power_state."""
        instance_uuid = instance_files.checked_uuid(instance.uuid)
        inst_dir = self.files.dir(instance_uuid)
        LOG.warning("Evacuating %s from %s: reusing its disk on shared storage",
                    instance_uuid, migration.source_compute)
        # The folder stays the old host's (its clean-up on failure here
        # leaves it) until the guest runs here.
        instance_files.write_owner(inst_dir, migration.source_compute)
        with self.guests.translated("rebuild", instance_uuid):
            self.guests.require_absent(instance_uuid)
            meta, base, os_config = self.images.prepare(instance, inst_dir)
            disk_path = os.path.join(inst_dir, "disk")
            try:
                disk.rebase_unsafe(disk_path, base, meta["disk_format"])
            except disk.DiskError as exc:
                raise driver.VirtError("cannot reuse the disk of instance %s: %s"
                                       % (instance_uuid, exc)) from exc
            local_disks.fit(inst_dir, instance.flavor)
            domain = self.guests.domain_config(instance, instance_uuid, os_config, disk_path)
            guest = self.guests.define(domain.to_xml())
            try:
                guest.start()
            except BaseException:
                guest.undefine()
                raise
            instance_files.write_owner(inst_dir, self.nodename)
            return guest.power_state()

    def held_migrations(self):
        return {instance_uuid: record["migration_uuid"]
                for instance_uuid, record in self._held_records()}

    def _held_records(self):
        """(instance uuid, record) of every copy this host keeps for a revert."""
        for instance_uuid in self.files.kept_uuids():
            record = self._kept_record(instance_uuid)
            if record is not None:
                yield instance_uuid, record

