"""The destination compute's side of a live migration.

  check     may this host take the guest? (hypervisor, CPU, storage, and
            [compute] max_incoming_live_migrations)
  prepare   make ready (disks, files, networking) and watch for the guest's
            arrival: the moment the hypervisor resumes it here, the source
            is told (``live_migration_arrived``; see source.py)
  post      the migration completed: the guest is this host's
  rollback  it did not: remove what was prepared

A migration counts against the incoming limit from ``prepare`` until
``post`` or ``rollback``; the count is recorded in ``state_path``
(records.py, direction ``in``) so that it survives a restart of the agent.
"""

import logging
import threading

import oslo_messaging as messaging

from vmctl import exception
from vmctl.compute.live_migration import records
from vmctl.virt import driver as virt_driver

LOG = logging.getLogger(__name__)


class Destination:
    def __init__(self, deps, work):
        """``deps``: conf, driver and compute (client); ``work``: the
        agent's WorkTracker."""
        self.conf = deps.conf
        self.host = deps.conf.host
        self.driver = deps.driver
        self.compute = deps.compute
        self.work = work
        self._guard = threading.Lock()
        self._incoming = set()  # migrations this destination prepared for
        self._arrivals = {}     # migration uuid -> stop watching its arrival here
        self._records = records.MigrationRecords(deps.conf.state_path, deps.conf.host,
                                                "in")

    def recover(self, incoming):
        """Migrations prepared here before the restart still count against
        the incoming limit while the conductor has them under way
        (``incoming``: the uuids of the instances it is bringing here)."""
        for instance_uuid, migrations in self._records.take_all().items():
            if instance_uuid in incoming:
                for migration in migrations:
                    self._track(migration)

    def check(self, instance, block_migration, source_info):
        """{"shared_storage"}; MigrationPreCheckError says why not."""
        self.work.wait_idle(instance.uuid)
        with self._guard:
            incoming = len(self._incoming)
        if incoming >= self.conf.compute.max_incoming_live_migrations:
            raise exception.MigrationPreCheckError(
                reason="%s already receives %d live migrations "
                "(max_incoming_live_migrations)" % (self.host, incoming))
        ok, reason, shared = self.driver.check_migration_destination(
            instance, block_migration, source_info)
        if not ok:
            raise exception.MigrationPreCheckError(reason=reason)
        return {"shared_storage": shared}

    def prepare(self, ctx, instance, migration):
        """What the source needs to start; DestinationNotReady says why not."""
        self.work.wait_idle(instance.uuid)
        self._track(migration)
        try:
            info = self.driver.pre_live_migration(instance, migration, {})
        except virt_driver.VirtError as exc:
            self._untrack(migration)
            raise exception.DestinationNotReady(reason=str(exc)) from None
        self._watch_arrival(ctx, instance, migration)
        return info

    def post(self, instance, migration):
        self._stop_watching_arrival(migration)
        self.driver.post_live_migration_at_destination(instance, migration)
        self._untrack(migration)

    def rollback(self, instance, migration):
        self._stop_watching_arrival(migration)
        try:
            self.driver.rollback_live_migration_at_destination(instance, migration)
        finally:
            self._untrack(migration)

    # --- the incoming count ---------------------------------------------------------
    def _track(self, migration):
        with self._guard:
            self._incoming.add(migration.uuid)
        self._records.add(migration)

    def _untrack(self, migration):
        with self._guard:
            self._incoming.discard(migration.uuid)
        self._records.remove(migration.uuid)

    # --- the arrival ----------------------------------------------------------------
    def _watch_arrival(self, ctx, instance, migration):
        """Tell the source the moment the guest runs here (see source.py)."""
        def arrived():
            threading.Thread(target=self._report_arrival, args=(ctx, migration),
                             name="arrived-%s" % migration.uuid[:8], daemon=True).start()
        try:
            stop = self.driver.watch_arrival(instance, migration, arrived)
        except Exception:
            LOG.exception("Cannot watch the arrival of %s", instance.uuid)
            return
        if stop is not None:
            with self._guard:
                self._arrivals[migration.uuid] = stop

    def _report_arrival(self, ctx, migration):
        LOG.info("Live migration %s: the guest runs here; telling %s", migration.uuid,
                 migration.source_compute)
        try:
            self.compute.live_migration_arrived(ctx, migration.source_compute, migration.uuid)
        except messaging.MessagingException as exc:
            LOG.warning("Could not tell %s that migration %s arrived: %s",
                        migration.source_compute, migration.uuid, exc)

    def _stop_watching_arrival(self, migration):
        with self._guard:
            stop = self._arrivals.pop(migration.uuid, None)
        if stop is not None:
            stop()
