"""The interface every virt driver implements: what the compute manager calls.

Two drivers implement it: ``vmctl.virt.fake.FakeDriver`` (an in-memory
hypervisor with a modelled migration, for fast tests and scale runs) and
``vmctl.virt.libvirt.driver.LibvirtDriver`` (QEMU/KVM). ``vmctl.virt.drivers``
picks one by ``[compute] compute_driver``. A live migration's running job is
a ``vmctl.virt.live_job.LiveMigrationJob``.
"""

import abc


class VirtError(Exception):
    """A driver operation failed; the message is safe to show users."""


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

    # --- live migration (drivers that support it override these) -----------
    def migration_source_info(self, instance):
        """What a destination needs to judge compatibility (hypervisor type
        and version, CPU, storage identity)."""
        raise VirtError("this driver cannot live-migrate")

    def check_migration_destination(self, instance, block_migration, source_info):
        """(ok, reason, shared_storage) for receiving ``instance`` here."""
        return False, "this driver cannot live-migrate", False

    def pre_live_migration(self, instance, migration, source_info):
        """Make the destination ready (disks, images, files); returns what
        the source needs to start the job (e.g. URIs)."""
        raise VirtError("this driver cannot live-migrate")

    def live_migration_start(self, instance, migration, dest_info, policy):
        """Start the hypervisor job; returns it, a ``live_job.LiveMigrationJob``
        (the compute's monitor drives it)."""
        raise VirtError("this driver cannot live-migrate")

    def adopt_live_migration(self, instance):
        """After an agent restart: the outgoing job of ``instance`` the
        hypervisor still runs (a ``live_job.LiveMigrationJob``), or None."""
        return None

    def watch_arrival(self, instance, migration, fn):
        """Destination: call ``fn()`` (quick, any thread) once the incoming
        guest runs here while the source's hypervisor may still be tearing
        its side down; returns the function that stops watching, or None
        when the driver cannot tell (the source then waits for its job)."""
        return None

    def post_live_migration_at_source(self, instance):
        """The guest runs on the destination: remove what is left here once
        the hypervisor job has ended."""

    def post_live_migration_at_destination(self, instance, migration):
        """The guest runs here now: make it this host's for good."""

    def rollback_live_migration_at_destination(self, instance, migration):
        """The migration failed: remove what pre_live_migration made."""

    # --- cold migration / resize (see doc/cold-migration.md) ----------------
    def prepare_migration_target(self, instance, migration):
        """Destination: ready to receive ``instance`` (with its new flavor)?
        Returns what the source needs (e.g. the storage identity, to detect
        shared storage); VirtError if this host cannot take it."""
        raise VirtError("this driver cannot cold-migrate")

    def migrate_disk_and_power_off(self, instance, migration, dest_info):
        """Source: power the guest off and offer its disks for the
        destination; returns a disk_transfer manifest. The source keeps
        everything needed to restore the guest until confirm or revert.
        Idempotent for one migration (a second call returns the manifest
        again). On failure the guest is left as it was."""
        raise VirtError("this driver cannot cold-migrate")

    def finish_migration(self, instance, migration, manifest, power_on):
        """Destination: pull the disks (disk_transfer.pull), grow them to
        the new flavor, define the guest and start it if ``power_on``;
        returns its power_state. Idempotent; on failure removes what it made."""
        raise VirtError("this driver cannot cold-migrate")

    def revert_migration_at_destination(self, instance, migration):
        """Destination: remove what finish_migration made. Idempotent."""

    def finish_revert_migration(self, instance, migration):
        """Source: bring the guest back exactly as it was (flavor, disk,
        power state) from what migrate_disk_and_power_off kept; returns its
        power_state. Idempotent."""
        raise VirtError("this driver cannot cold-migrate")

    def confirm_migration(self, instance, migration):
        """Source: drop what was kept for a revert. Idempotent."""

    def held_migrations(self):
        """{instance uuid: migration uuid} of guests kept here for a revert."""
        return {}

    def rebuild_evacuated(self, instance, migration):
        """Destination of an evacuation: make the guest here and start it;
        returns its power_state. By default a new guest from the image; a
        driver may reuse the disk when the storage is shared (libvirt)."""
        return self.spawn(instance)

    @abc.abstractmethod
    def get_available_resource(self):
        """Inventory: vcpus, memory_mb, local_gb, hypervisor_type/version, host_ip."""

