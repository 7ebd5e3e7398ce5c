"""Cold migration on the fake hypervisor: the ``FakeColdMigrator`` the fake
driver delegates to; a modelled disk, really copied.

A fake guest's disk is 64 KiB of bytes derived from a seed (its "data")
plus a virtual size; the copy goes through ``disk_transfer.pull`` with the
per-migration token and a SHA-256 check, exactly as a real transport
would. The fake wire is the source host's state file, read from the shared
``state_path`` (every fake compute of a test cloud runs on one machine).

What the source keeps until confirm or revert (the guest as it was: its
flavor, power state, disk, and its ephemeral and swap disks, modelled by
``fake_disks``) lives in ``fake-virt-<host>-held.json``, apart from the
guests the hypervisor runs.

Instance metadata injects faults for tests: ``fake_transfer_faults`` =
``break:N`` or ``corrupt:N`` spoils the first N copy attempts;
``fake_fail_finish`` = ``1`` makes the destination fail after the copy;
``fake_transfer_seconds`` makes every copy attempt take that long.
"""

import hashlib
import json
import os
import secrets
import time

from vmctl import instance_states as states
from vmctl.virt import disk_transfer
from vmctl.virt import driver
from vmctl.virt import fake_disks
from vmctl.virt import migrators

DISK = "disk"
DISK_BYTES = 64 * 1024


def disk_bytes(seed):
    return hashlib.shake_256(seed.encode()).digest(DISK_BYTES)


def _held_path(state_path, host):
    return os.path.join(state_path, "fake-virt-%s-held.json" % host)


def read_held(state_path, host):
    """What ``host`` keeps for reverts: {instance uuid: record}."""
    try:
        with open(_held_path(state_path, host)) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


class _WireSource(disk_transfer.SourceFiles):
    """The source host's kept disk, read from its state file."""

    def __init__(self, state_path, manifest, faults, seconds=0.0):
        self.state_path = state_path
        self.manifest = manifest
        self.faults = faults
        self.seconds = seconds
        self.attempts = 0

    def read(self, name, offset, token):
        record = read_held(self.state_path, self.manifest["source_host"]).get(
            self.manifest["instance_uuid"])
        if record is None or record["migration_uuid"] != self.manifest["migration_uuid"]:
            raise disk_transfer.TransferError("the source no longer offers this disk")
        if not secrets.compare_digest(record["token"], token or ""):
            raise disk_transfer.TransferError("the source refused the transfer token")
        data = bytearray(disk_bytes(record["disk"]["seed"])[offset:])
        time.sleep(self.seconds)
        self.attempts += 1
        kind, _, count = self.faults.partition(":")
        spoiled = count.isdigit() and self.attempts <= int(count)
        if spoiled and kind == "corrupt" and data:
            data[len(data) // 2] ^= 0xFF
        for start in range(0, len(data), 16 * 1024):
            if spoiled and kind == "break" and start >= len(data) // 2:
                raise disk_transfer.BrokenStream("modelled network failure")
            yield bytes(data[start:start + 16 * 1024])


class _MemoryTarget(disk_transfer.TargetFiles):
    def __init__(self):
        self.files = {}

    def held(self, name):
        data = self.files.get(name)
        return [bytes(data)] if data else []

    def append(self, name, chunk):
        self.files.setdefault(name, bytearray()).extend(chunk)

    def discard(self, name):
        self.files.pop(name, None)


class FakeColdMigrator(migrators.ColdMigrator):
    """Both sides of a cold migration on one fake host.

    ``conf``: the agent's configuration ([fake], [cold_migration],
    state_path); ``hypervisor``: the driver's ``FakeHypervisor``.
    """

    def __init__(self, conf, hypervisor):
        self.conf = conf
        self.hypervisor = hypervisor
        self._held = None

    @property
    def host(self):
        return self.hypervisor.host

    def _held_store(self):
        if self._held is None:
            self._held = read_held(self.conf.state_path, self.host)
        return self._held

    def _save_held(self):
        path = _held_path(self.conf.state_path, self.host)
        with open(path + ".tmp", "w") as f:
            json.dump(self._held, f)
        os.replace(path + ".tmp", path)

    def prepare_migration_target(self, instance, migration):
        return {"host": self.host, "shared_storage": bool(self.conf.fake.shared_storage)}

    def migrate_disk_and_power_off(self, instance, migration, dest_info):
        with self.hypervisor.lock:
            held = self._held_store()
            record = held.get(instance.uuid)
            if record is None or record["migration_uuid"] != migration.uuid:
                record = self._keep_for_revert(instance, migration)
            disk = record["disk"]
        shared = bool(dest_info.get("shared_storage") and self.conf.fake.shared_storage)
        the_manifest = disk_transfer.manifest(
            migration.uuid, self.host, [disk_transfer.file_entry(DISK, disk_bytes(disk["seed"]))],
            url="fake://%s/migrations/%s/" % (self.host, migration.uuid),
            token=record["token"], shared_storage=shared)
        the_manifest["instance_uuid"] = instance.uuid
        return the_manifest

    def _keep_for_revert(self, instance, migration):
        guest = self.hypervisor.guests.get(instance.uuid)
        if guest is None:
            raise driver.VirtError("instance %s is not on hypervisor %s"
                                   % (instance.uuid, self.host))
        disk = guest.get("disk") or {"seed": "%s:%s" % (instance.uuid, instance.image_ref),
                                     "size_gb": instance.flavor.root_gb}
        record = {"migration_uuid": migration.uuid, "token": disk_transfer.new_token(),
                  "guest": dict(guest, disk=disk), "disk": disk}
        self._held[instance.uuid] = record
        self._save_held()
        del self.hypervisor.guests[instance.uuid]   # powered off, undefined; the disk is kept
        self.hypervisor.save()
        return record

    def finish_migration(self, instance, migration, manifest, power_on):
        with self.hypervisor.lock:
            guest = self.hypervisor.guests.get(instance.uuid)
            if guest is not None and guest.get("migration_uuid") == migration.uuid:
                return guest["power_state"]
        metadata = instance.metadata or {}
        source = _WireSource(self.conf.state_path, manifest,
                             metadata.get("fake_transfer_faults", ""),
                             float(metadata.get("fake_transfer_seconds", 0)))
        target = _MemoryTarget()
        group = self.conf.cold_migration
        try:
            sums = disk_transfer.pull(manifest, source, target, group.transfer_attempts,
                                      group.transfer_retry_delay)
        except disk_transfer.TransferError as exc:
            raise driver.VirtError("disk transfer from %s failed: %s"
                                   % (manifest["source_host"], exc)) from None
        if metadata.get("fake_fail_finish") == "1":
            raise driver.VirtError("fake hypervisor %s is configured to fail finish_migration"
                                   % self.host)
        kept = read_held(self.conf.state_path, manifest["source_host"])[instance.uuid]
        seed = kept["disk"]["seed"]
        local_disks = fake_disks.carried(kept["guest"].get("local_disks"), instance.flavor)
        power_state = states.RUNNING if power_on else states.SHUTDOWN
        with self.hypervisor.lock:
            self.hypervisor.guests[instance.uuid] = {
                "power_state": power_state, "memory_mb": instance.flavor.memory_mb,
                "vcpus": instance.flavor.vcpus, "migration_uuid": migration.uuid,
                "disk": {"seed": seed, "size_gb": instance.flavor.root_gb,
                         "sha256": sums[DISK]}, "local_disks": local_disks}
            self.hypervisor.save()
        return power_state

    def revert_migration_at_destination(self, instance, migration):
        with self.hypervisor.lock:
            guest = self.hypervisor.guests.get(instance.uuid)
            if guest is not None and guest.get("migration_uuid") == migration.uuid:
                del self.hypervisor.guests[instance.uuid]
                self.hypervisor.save()

    def finish_revert_migration(self, instance, migration):
        with self.hypervisor.lock:
            record = self._held_store().get(instance.uuid)
            if record is None or record["migration_uuid"] != migration.uuid:
                guest = self.hypervisor.guests.get(instance.uuid)
                if guest is not None and guest.get("migration_uuid") != migration.uuid:
                    return guest["power_state"]   # restored already
                raise driver.VirtError("hypervisor %s kept nothing of %s to revert to"
                                       % (self.host, instance.uuid))
            self.hypervisor.guests[instance.uuid] = record["guest"]
            self.hypervisor.save()
            del self._held[instance.uuid]
            self._save_held()
            return record["guest"]["power_state"]

    def confirm_migration(self, instance, migration):
        with self.hypervisor.lock:
            record = self._held_store().get(instance.uuid)
            if record is not None and (migration is None
                                       or record["migration_uuid"] == migration.uuid):
                del self._held[instance.uuid]
                self._save_held()

    def held_migrations(self):
        with self.hypervisor.lock:
            return {uuid: r["migration_uuid"] for uuid, r in self._held_store().items()}
