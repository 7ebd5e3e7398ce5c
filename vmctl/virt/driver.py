"""The interface every virt driver implements: what the compute manager calls.

Two drivers implement it: ``vmctl.virt.fake.FakeDriver`` (an in-memory
hypervisor with a modelled migration, for fast tests and scale runs) and
``vmctl.virt.libvirt.driver.LibvirtDriver`` (QEMU/KVM). ``vmctl.virt.drivers``
picks one by ``[compute] compute_driver``. A live migration's running job is
a ``vmctl.virt.live_job.LiveMigrationJob``.
"""

import abc
import collections

from vmctl.virt import migrators

VirtError = migrators.VirtError

# What a driver needs to remove a guest no instance record owns any more
# (destroy, post_live_migration_at_source after an agent restart).
GuestRef = collections.namedtuple("GuestRef", "uuid")


class ComputeDriver(abc.ABC):
    """One hypervisor host. Methods block until the operation is done."""

    @abc.abstractmethod
    def init_host(self, host):
        """Connect; called once before the agent takes requests."""

    @property
    @abc.abstractmethod
    def nodename(self):
        """The node (hypervisor hostname) this driver manages."""

    @abc.abstractmethod
    def list_instances(self):
        """{instance uuid: power_state} of every guest the hypervisor has."""

    @abc.abstractmethod
    def spawn(self, instance):
        """Create and start the guest; return its power_state."""

    @abc.abstractmethod
    def destroy(self, instance):
        """Remove the guest and its files. Idempotent."""

    @abc.abstractmethod
    def power_off(self, instance):
        pass

    @abc.abstractmethod
    def power_on(self, instance):
        pass

    @abc.abstractmethod
    def reboot(self, instance, hard):
        pass

    @abc.abstractmethod
    def pause(self, instance):
        pass

    @abc.abstractmethod
    def unpause(self, instance):
        pass

    @abc.abstractmethod
    def suspend(self, instance):
        pass

    @abc.abstractmethod
    def resume(self, instance):
        pass

    @abc.abstractmethod
    def get_power_state(self, instance):
        """The guest's power_state (NOSTATE when it does not exist)."""

    def register_event_handler(self, handler):
        """Call ``handler(uuid, power_state)`` when a guest's power state
        changes by itself (a guest shutting down from inside). Optional."""

    def cleanup_image_cache(self):
        """Remove cached images no instance uses; periodic. Optional."""
        return []

    def get_console_output(self, instance, length=None):
        """The last ``length`` lines (all if None) of the guest's console."""
        raise VirtError("this driver keeps no console log")

    # --- moves: delegated to the driver's migrators (vmctl.virt.migrators) ---
    #: Both sides of a live migration; a driver that can live-migrate sets its own.
    live = migrators.LiveMigrator()
    #: Both sides of a cold migration / resize; likewise.
    cold = migrators.ColdMigrator()

    def migration_source_info(self, instance):
        return self.live.migration_source_info(instance)

    def check_migration_destination(self, instance, block_migration, source_info):
        return self.live.check_migration_destination(instance, block_migration, source_info)

    def pre_live_migration(self, instance, migration, source_info):
        return self.live.pre_live_migration(instance, migration, source_info)

    def live_migration_start(self, instance, migration, dest_info, policy):
        return self.live.live_migration_start(instance, migration, dest_info, policy)

    def adopt_live_migration(self, instance):
        return self.live.adopt_live_migration(instance)

    def watch_arrival(self, instance, migration, fn):
        return self.live.watch_arrival(instance, migration, fn)

    def post_live_migration_at_source(self, instance):
        return self.live.post_live_migration_at_source(instance)

    def post_live_migration_at_destination(self, instance, migration):
        return self.live.post_live_migration_at_destination(instance, migration)

    def rollback_live_migration_at_destination(self, instance, migration):
        return self.live.rollback_live_migration_at_destination(instance, migration)

    def prepare_migration_target(self, instance, migration):
        return self.cold.prepare_migration_target(instance, migration)

    def migrate_disk_and_power_off(self, instance, migration, dest_info):
        return self.cold.migrate_disk_and_power_off(instance, migration, dest_info)

    def finish_migration(self, instance, migration, manifest, power_on):
        return self.cold.finish_migration(instance, migration, manifest, power_on)

    def revert_migration_at_destination(self, instance, migration):
        return self.cold.revert_migration_at_destination(instance, migration)

    def finish_revert_migration(self, instance, migration):
        return self.cold.finish_revert_migration(instance, migration)

    def confirm_migration(self, instance, migration):
        return self.cold.confirm_migration(instance, migration)

    def held_migrations(self):
        return self.cold.held_migrations()

    def rebuild_evacuated(self, instance, migration):
        """Destination of an evacuation: make the guest here and start it;
        returns its power_state. By default a new guest from the image; a
        driver may reuse the disk when the storage is shared (libvirt)."""
        return self.spawn(instance)

    @abc.abstractmethod
    def get_available_resource(self):
        """Inventory: vcpus, memory_mb, local_gb, hypervisor_type/version, host_ip."""

