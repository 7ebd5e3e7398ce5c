"""Live migration on the fake hypervisor: the ``FakeLiveMigrator`` the fake
driver delegates to.

The job is ``fake_live_job`` (the model ``fake_live_model`` against the
wall clock, recorded under ``state_path`` so that it outlives the agent).
The destination remembers what ``pre_live_migration`` prepared in
``<state_path>/fake-incoming-<host>.json``. Instance metadata slows phases
down for tests: ``fake_check_destination_seconds`` (the destination
pre-check), ``fake_pre_live_migration_seconds`` (the preparation),
``fake_confirm_seconds`` (a modelled tear-down after the switch-over,
reported by ``watch_arrival``).
"""

import os
import time

from vmctl import instance_states as states
from vmctl.virt import driver
from vmctl.virt import fake_disks
from vmctl.virt import fake_hypervisor
from vmctl.virt import fake_live_job
from vmctl.virt import migrators


def delay(instance, key):
    """Sleep for the seconds the instance metadata ``key`` asks (tests use it
    to catch a migration in a given phase)."""
    seconds = metadata_seconds(instance, key)
    if seconds > 0:
        time.sleep(min(seconds, 300))


def metadata_seconds(instance, key):
    return float((instance.metadata or {}).get(key, 0) or 0)


class FakeLiveMigrator(migrators.LiveMigrator):
    """Both sides of a live migration on one fake host.

    ``conf``: the agent's configuration ([fake], state_path);
    ``hypervisor``: the driver's ``FakeHypervisor``.
    """

    def __init__(self, conf, hypervisor):
        self.conf = conf
        self.hypervisor = hypervisor

    @property
    def host(self):
        return self.hypervisor.host

    # --- checks ----------------------------------------------------------------
    def migration_source_info(self, instance):
        return {"hypervisor_type": "fake", "hypervisor_version": 1000,
                "cpu_model": "fake-cpu", "host": self.host,
                "shared_storage": self.conf.fake.shared_storage}

    def check_migration_destination(self, instance, block_migration, source_info):
        delay(instance, "fake_check_destination_seconds")
        if self.conf.fake.refuse_incoming_migrations:
            return False, "%s refuses incoming migrations (fake)" % self.host, False
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

    # --- destination -------------------------------------------------------------
    def _incoming_path(self):
        return os.path.join(self.conf.state_path, "fake-incoming-%s.json" % self.host)

    def _set_incoming(self, instance_uuid, migration_uuid):
        """What pre_live_migration prepared here (instance -> migration)."""
        with self.hypervisor.lock:
            incoming = fake_hypervisor.read_json(self._incoming_path())
            if migration_uuid is None:
                incoming.pop(instance_uuid, None)
            else:
                incoming[instance_uuid] = migration_uuid
            fake_hypervisor.write_json(self._incoming_path(), incoming)

    def pre_live_migration(self, instance, migration, source_info):
        self._set_incoming(instance.uuid, migration.uuid)
        delay(instance, "fake_pre_live_migration_seconds")
        return {"uri": "fake://%s" % self.host}

    def rollback_live_migration_at_destination(self, instance, migration):
        self._set_incoming(instance.uuid, None)

    def watch_arrival(self, instance, migration, fn):
        """Only for a modelled tear-down (metadata ``fake_confirm_seconds``);
        otherwise the job ends at the switch-over and there is nothing to gain."""
        if not metadata_seconds(instance, "fake_confirm_seconds"):
            return None
        return fake_live_job.watch_arrival(fake_live_job.record_path(
            self.conf.state_path, migration.source_compute, instance.uuid), fn)

    def post_live_migration_at_destination(self, instance, migration):
        hv = self.hypervisor
        with hv.lock:
            hv.guests[instance.uuid] = {
                "power_state": states.POWER_PAUSED if instance.vm_state == states.PAUSED
                else states.RUNNING,
                "memory_mb": instance.flavor.memory_mb, "vcpus": instance.flavor.vcpus,
                "local_disks": fake_disks.for_flavor(instance.flavor)}
            hv.save()
        self._set_incoming(instance.uuid, None)

    # --- source ----------------------------------------------------------------------
    def _job_path(self, instance_uuid):
        return fake_live_job.record_path(self.conf.state_path, self.host, instance_uuid)

    def live_migration_start(self, instance, migration, dest_info, policy):
        with self.hypervisor.lock:
            if instance.uuid not in self.hypervisor.guests:
                raise driver.VirtError("instance %s is not on hypervisor %s"
                                       % (instance.uuid, self.host))
        return fake_live_job.start_job(self.conf, instance, policy, migration,
                                       path=self._job_path(instance.uuid))

    def adopt_live_migration(self, instance):
        """The recorded outgoing job of ``instance``, recomputed up to now
        (running, or ended while no agent watched it), or None."""
        return fake_live_job.load_job(self._job_path(instance.uuid))

    def post_live_migration_at_source(self, instance):
        self.hypervisor.remove(instance.uuid)
        fake_live_job.remove_record(self._job_path(instance.uuid))
