"""The move interfaces of a virt driver: both sides of a live migration and
of a cold migration / resize, each an object the driver composes (the
libvirt driver's ``live_migration.LiveMigrator`` and
``cold_migration.ColdMigrator``, the fake driver's ``FakeLiveMigrator`` and
``FakeColdMigrator``). ``ComputeDriver`` delegates its move methods to its
``live`` and ``cold`` migrators; these base classes are what a driver that
cannot move guests answers (doc/live-migration.md, doc/cold-migration.md).
"""


class VirtError(Exception):
    """A driver operation failed; the message is safe to show users."""


class LiveMigrator:
    """Both sides of a live migration. A running job is a
    ``vmctl.virt.live_job.LiveMigrationJob`` (the compute's monitor drives it)."""

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



class ColdMigrator:
    """Both sides of a cold migration / resize (see doc/cold-migration.md)."""

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
