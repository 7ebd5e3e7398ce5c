"""An in-memory hypervisor for fast tests and scale simulation.

Guests are remembered in a small JSON file under ``state_path`` so that a
restarted agent finds them again, as it would on a real host.
"""

import json
import logging
import os
import threading
import time

from vmctl import states
from vmctl.virt import driver
from vmctl.virt import fake_cold_migration
from vmctl.virt import fake_disks
from vmctl.virt import fake_live_migration

LOG = logging.getLogger(__name__)

# What each operation requires of the guest's power state, and leaves.
_TRANSITIONS = {
    "power_off": ((states.RUNNING, states.POWER_PAUSED, states.SHUTDOWN, states.CRASHED), states.SHUTDOWN),
    "power_on": ((states.SHUTDOWN, states.RUNNING), states.RUNNING),
    "pause": ((states.RUNNING,), states.POWER_PAUSED),
    "unpause": ((states.POWER_PAUSED,), states.RUNNING),
    "suspend": ((states.RUNNING, states.POWER_PAUSED), states.POWER_SUSPENDED),
    "resume": ((states.POWER_SUSPENDED,), states.RUNNING),
}


class FakeDriver(fake_cold_migration.ColdMigrationMixin, driver.ComputeDriver):
    def __init__(self, conf):
        self.conf = conf
        self._lock = threading.Lock()
        self._guests = {}
        self._host = None
        self._path = None

    @property
    def nodename(self):
        return self._host

    def init_host(self, host):
        self._host = host
        self._path = os.path.join(self.conf.state_path, "fake-virt-%s.json" % host)
        if os.path.exists(self._path):
            with open(self._path) as f:
                self._guests = json.load(f)
        LOG.info("Fake hypervisor %s has %d guests", host, len(self._guests))

    def _save(self):
        _write_json(self._path, self._guests)

    def list_instances(self):
        with self._lock:
            return {uuid: g["power_state"] for uuid, g in self._guests.items()}

    def spawn(self, instance):
        if self.conf.fake.spawn_seconds:
            time.sleep(self.conf.fake.spawn_seconds)
        if self.conf.fake.fail_builds:
            raise driver.VirtError("fake hypervisor %s is configured to fail builds" % self._host)
        with self._lock:
            self._guests[instance.uuid] = {"power_state": states.RUNNING,
                                           "memory_mb": instance.flavor.memory_mb,
                                           "vcpus": instance.flavor.vcpus,
                                           "local_disks": fake_disks.for_flavor(instance.flavor)}
            self._save()
        return states.RUNNING

    def destroy(self, instance):
        with self._lock:
            if self._guests.pop(instance.uuid, None) is not None:
                self._save()

    def _move(self, instance, operation):
        allowed, result = _TRANSITIONS[operation]
        with self._lock:
            guest = self._guests.get(instance.uuid)
            if guest is None:
                raise driver.VirtError("instance %s is not on hypervisor %s" % (instance.uuid, self._host))
            if guest["power_state"] not in allowed:
                raise driver.VirtError("cannot %s a guest in power state %s" % (
                    operation, states.POWER_STATE_NAMES.get(guest["power_state"])))
            guest["power_state"] = result
            self._save()
        return result

    def power_off(self, instance):
        return self._move(instance, "power_off")

    def power_on(self, instance):
        return self._move(instance, "power_on")

    def reboot(self, instance, hard):
        with self._lock:
            guest = self._guests.get(instance.uuid)
            if guest is None:
                raise driver.VirtError("instance %s is not on hypervisor %s" % (instance.uuid, self._host))
            if not hard and guest["power_state"] != states.RUNNING:
                raise driver.VirtError("a soft reboot needs a running guest")
            guest["power_state"] = states.RUNNING
            self._save()
        return states.RUNNING

    def pause(self, instance):
        return self._move(instance, "pause")

    def unpause(self, instance):
        return self._move(instance, "unpause")

    def suspend(self, instance):
        return self._move(instance, "suspend")

    def resume(self, instance):
        return self._move(instance, "resume")

    def get_power_state(self, instance):
        with self._lock:
            guest = self._guests.get(instance.uuid)
            return guest["power_state"] if guest else states.NOSTATE

    def get_console_output(self, instance, length=None):
        with self._lock:
            guest = self._guests.get(instance.uuid)
            if guest is None:
                raise driver.VirtError("instance %s is not on hypervisor %s"
                                       % (instance.uuid, self._host))
            lines = ["fake console of %s on %s" % (instance.uuid, self._host),
                     "power state %s" % states.POWER_STATE_NAMES[guest["power_state"]]]
        if length is not None:
            lines = lines[-length:] if length else []
        return "".join(line + "\n" for line in lines)

    # --- live migration -------------------------------------------------------
    def migration_source_info(self, instance):
        return {"hypervisor_type": "fake", "hypervisor_version": 1000,
                "cpu_model": "fake-cpu", "host": self._host,
                "shared_storage": self.conf.fake.shared_storage}

    def check_migration_destination(self, instance, block_migration, source_info):
        _delay(instance, "fake_check_destination_seconds")
        if self.conf.fake.refuse_incoming_migrations:
            return False, "%s refuses incoming migrations (fake)" % self._host, False
        if source_info.get("hypervisor_type") != "fake":
            return False, "hypervisor type %s differs from fake" % source_info.get(
                "hypervisor_type"), False
        if source_info.get("hypervisor_version", 0) > 1000:
            return False, "the source's hypervisor is newer than this one", False
        shared = self.conf.fake.shared_storage and source_info.get("shared_storage")
        if block_migration is False and not shared:
            return False, ("source and destination do not share instance storage: "
                           "block migration is required"), False
        return True, None, bool(shared)

    def _incoming_path(self):
        return os.path.join(self.conf.state_path, "fake-incoming-%s.json" % self._host)

    def _set_incoming(self, instance_uuid, migration_uuid):
        """What pre_live_migration prepared here (instance -> migration)."""
        with self._lock:
            incoming = _read_json(self._incoming_path())
            if migration_uuid is None:
                incoming.pop(instance_uuid, None)
            else:
                incoming[instance_uuid] = migration_uuid
            _write_json(self._incoming_path(), incoming)

    def pre_live_migration(self, instance, migration, source_info):
        self._set_incoming(instance.uuid, migration.uuid)
        _delay(instance, "fake_pre_live_migration_seconds")
        return {"uri": "fake://%s" % self._host}

    def rollback_live_migration_at_destination(self, instance, migration):
        self._set_incoming(instance.uuid, None)

    def _job_path(self, instance_uuid):
        return fake_live_migration.record_path(self.conf.state_path, self._host,
                                               instance_uuid)

    def live_migration_start(self, instance, migration, dest_info, policy):
        with self._lock:
            if instance.uuid not in self._guests:
                raise driver.VirtError("instance %s is not on hypervisor %s"
                                       % (instance.uuid, self._host))
        return fake_live_migration.start_job(self.conf, instance, policy, migration,
                                             path=self._job_path(instance.uuid))

    def adopt_live_migration(self, instance):
        """The recorded outgoing job of ``instance``, recomputed up to now
        (running, or ended while no agent watched it), or None."""
        return fake_live_migration.load_job(self._job_path(instance.uuid))

    def watch_arrival(self, instance, migration, fn):
        """Only for a modelled tear-down (metadata ``fake_confirm_seconds``);
        otherwise the job ends at the switch-over and there is nothing to gain."""
        if not _metadata_seconds(instance, "fake_confirm_seconds"):
            return None
        return fake_live_migration.watch_arrival(fake_live_migration.record_path(
            self.conf.state_path, migration.source_compute, instance.uuid), fn)

    def post_live_migration_at_source(self, instance):
        self.destroy(instance)
        fake_live_migration.remove_record(self._job_path(instance.uuid))

    def post_live_migration_at_destination(self, instance, migration):
        with self._lock:
            self._guests[instance.uuid] = {
                "power_state": states.POWER_PAUSED if instance.vm_state == states.PAUSED
                else states.RUNNING,
                "memory_mb": instance.flavor.memory_mb, "vcpus": instance.flavor.vcpus,
                "local_disks": fake_disks.for_flavor(instance.flavor)}
            self._save()
        self._set_incoming(instance.uuid, None)

    def get_available_resource(self):
        fake = self.conf.fake
        return {"vcpus": fake.vcpus, "memory_mb": fake.memory_mb,
                "local_gb": fake.disk_gb, "hypervisor_type": "fake",
                "hypervisor_version": 1000, "host_ip": "127.0.0.1"}


def _delay(instance, key):
    """Sleep for the seconds the instance metadata ``key`` asks (tests use it
    to catch a migration in a given phase)."""
    seconds = _metadata_seconds(instance, key)
    if seconds > 0:
        time.sleep(min(seconds, 300))


def _metadata_seconds(instance, key):
    return float((instance.metadata or {}).get(key, 0) or 0)


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def _write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)
