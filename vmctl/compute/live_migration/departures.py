"""The source's bookkeeping of the live migrations leaving this host.

Each migration the conductor hands to this host runs as a ``SourceRun``
(source.py) in a thread of its own, holding the instance busy
(work_tracker.py) and an outgoing slot ([compute]
max_concurrent_live_migrations) while it runs. Operator requests (abort,
force-complete) and the destination's arrival notice reach the run through
``tell``. Each run is recorded in ``state_path`` (records.py) until it
ends, so that a restarted agent adopts a hypervisor job that outlived it,
rolls back one that never reached the hypervisor, and cleans up after one
that ended while it was down.
"""

import logging
import threading

from vmctl import instance_states as states
from vmctl import migration_states as ms
from vmctl.compute.live_migration import records
from vmctl.compute.live_migration import source
from vmctl.objects import migration as migration_obj
from vmctl.virt import driver as virt_driver

LOG = logging.getLogger(__name__)



class Departures:
    def __init__(self, deps, work):
        """``deps``: conf, driver, conductor (client) and compute (client),
        as a SourceRun takes them; ``work``: the agent's WorkTracker."""
        self.deps = deps
        self.host = deps.conf.host
        self.driver = deps.driver
        self.work = work
        self._guard = threading.Lock()
        self._runs = {}  # migration uuid -> SourceRun
        self._slots = threading.BoundedSemaphore(
            deps.conf.compute.max_concurrent_live_migrations)
        self._records = records.MigrationRecords(deps.conf.state_path, deps.conf.host, "out")

    def start(self, ctx, instance, migration, adopted_job=None):
        """Run the migration (or watch ``adopted_job`` to its end) in a thread."""
        run = source.SourceRun(ctx, instance, migration, self.deps, self._slots)
        self._records.add(migration)
        with self._guard:
            self._runs[migration.uuid] = run
        # Busy from now on, before the thread runs: the healer must not
        # settle an adopted migration the moment the RPC server starts.
        self.work.hold(instance.uuid)

        def work():
            try:
                with self.work.working_on(instance.uuid):
                    run.run(adopted_job)
            finally:
                self._records.remove(migration.uuid)
                with self._guard:
                    self._runs.pop(migration.uuid, None)
                self.work.release(instance.uuid)

        threading.Thread(target=work, name="live-migration-%s" % migration.uuid[:8],
                         daemon=True).start()

    def tell(self, migration_uuid, what):
        """Pass a message (``arrived``, ``request_abort``,
        ``request_force_complete``) to the run of a migration, if it runs here."""
        with self._guard:
            run = self._runs.get(migration_uuid)
        if run is not None:
            getattr(run, what)()

    # --- after a restart of the agent ---------------------------------------------
    def take_records(self):
        """{instance uuid: [Migration]} that the previous run of this agent
        was running; the records are cleared (runs started again record
        themselves anew)."""
        return self._records.take_all()

    def adopt(self, ctx, inst, power_state=None, handed=()):
        """A live migration from this host whose hypervisor job outlived the
        restart: watch it to its end again. One without a job (it was
        queued or preparing) whose guest still runs here as before is rolled
        back now. Anything else (no record, a guest gone or shut off here)
        is the conductor's healer's to settle from where the guest runs."""
        adopt = getattr(self.driver, "adopt_live_migration", None)
        try:
            job = adopt(inst) if adopt is not None else None
        except Exception:
            LOG.exception("Cannot look for a live migration job of %s", inst.uuid)
            return
        if job is None:
            if states.runs_as_before(inst, power_state):
                for migration in handed:
                    self._abandon(ctx, inst, migration)
            return
        record = job.migration
        migration = migration_obj.Migration(
            uuid=record["uuid"], instance_uuid=inst.uuid, migration_type=ms.LIVE,
            status=ms.POSTCOPY if getattr(job, "postcopy", False) else ms.RUNNING,
            source_compute=self.host, source_node=record.get("source_node"),
            dest_compute=record["dest_compute"], dest_node=record.get("dest_node"),
            block_migration=bool(record.get("block_migration")))
        LOG.warning("Adopted the running live migration %s of %s to %s", migration.uuid,
                    inst.uuid, migration.dest_compute)
        self.start(ctx, inst, migration, job)

    def _abandon(self, ctx, inst, migration):
        LOG.warning("Rolling back the live migration %s of %s to %s: it had not started "
                    "when this agent stopped", migration.uuid, inst.uuid,
                    migration.dest_compute)
        source.SourceRun(ctx, inst, migration, self.deps, self._slots).abandon()

    def clean_after_departure(self, uuid):
        """A live migration from here ended while this agent was down or
        before it had cleaned up (completed is recorded before the source's
        clean-up): the instance is no longer this host's."""
        LOG.warning("Cleaning up after instance %s, which left this host while the agent "
                    "was down", uuid)
        try:
            self.driver.post_live_migration_at_source(virt_driver.GuestRef(uuid))
        except Exception:
            LOG.exception("Clean-up after the departure of %s failed", uuid)
