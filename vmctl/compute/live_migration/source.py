"""The source compute's side of one live migration, start to end.

  queued     wait for an outgoing slot ([compute] max_concurrent_live_migrations);
             an abort while waiting cancels it
  preparing  the destination makes itself ready (pre_live_migration)
  running    the hypervisor job runs under the monitor and its policy
             (post-copy is reported as 'running (post-copy)')
  end        completed: the destination takes the guest over, the source
             cleans up; otherwise the destination is rolled back and the
             guest keeps running on the source exactly as before
Completed is recorded as soon as the guest runs on the destination: when
the destination reports that its hypervisor resumed it (``arrived``), the
source's hypervisor may still need seconds to stop its side (libvirt's
confirm phase); the source's clean-up then follows the record, once the job
has ended. Otherwise the clean-up comes first, as the job has already ended.
Each status change is a compare-and-swap through the conductor; losing one
(the conductor already ended the migration) stops the flow and rolls back.
"""

import logging
import threading
import time

import oslo_messaging as messaging

from vmctl import exception
from vmctl import migration_states as ms
from vmctl.compute.live_migration import config as policy_config
from vmctl.compute.live_migration import monitor as monitor_mod
from vmctl.compute.live_migration import policies
from vmctl.virt import driver as virt_driver

LOG = logging.getLogger(__name__)

POLICY_EVENT = "live_migration_policy"
ABANDONED = ("the source compute restarted before the hypervisor job started; "
             "rolled back, the guest stays on the source")
# How long the source's clean-up waits for the hypervisor to stop its side
# after the guest arrived on the destination (libvirt kills a QEMU that
# ignores SIGTERM after 10 s); past it the next start of the agent cleans up.
TEARDOWN_TIMEOUT_S = 120


class SourceRun:
    def __init__(self, ctx, instance, migration, deps, outgoing):
        self.ctx = ctx
        self.instance = instance
        self.migration = migration
        self.conf = deps.conf
        self.driver = deps.driver
        self.conductor = deps.conductor
        self.compute = deps.compute
        self.outgoing = outgoing
        self.monitor = None
        self.job = None
        self._abort = threading.Event()
        self._arrived = threading.Event()
        # Prepared, and no hypervisor job asked for yet: what an unexpected
        # failure must undo on the destination.
        self._only_prepared = False

    # --- requests from the operator, through the conductor -----------------
    def request_abort(self):
        self._abort.set()
        if self.monitor is not None:
            self.monitor.request_abort()

    def request_force_complete(self):
        if self.monitor is not None:
            self.monitor.request_force_complete()

    def arrived(self):
        """The destination's hypervisor resumed the guest there."""
        self._arrived.set()
        if self.monitor is not None:
            self.monitor.notify_arrived()

    def abandon(self):
        """After an agent restart: the migration never reached the
        hypervisor and the guest still runs here. Roll the destination back
        and fail the migration."""
        try:
            self._rollback_destination()
        finally:
            self._finished(ms.FAILED, ABANDONED)

    # --- the flow ---------------------------------------------------------------
    def run(self, adopted_job=None):
        """The whole flow; with ``adopted_job`` (a hypervisor job an agent
        restart found running) only its monitoring and the end."""
        try:
            status, reason = (self._run() if adopted_job is None
                              else self._run_adopted(adopted_job))
        except Exception as exc:
            LOG.exception("Live migration %s failed", self.migration.uuid)
            status, reason = ms.ERROR, "unexpected failure on the source: %s" % exc
            self._undo_preparation()
        if status != ms.COMPLETED:
            self._finished(status, reason)
        elif self.monitor is not None and self.monitor.arrived:
            self._finished(status)
            self._clean_source()
        else:
            self._clean_source()
            self._finished(status)

    def _finished(self, status, reason=None):
        """Report the end, with the job's last figures."""
        final = self.monitor.final_stats if self.monitor is not None else None
        self.conductor.live_migration_finished(
            self.ctx, self.migration.uuid, status, reason,
            progress=_progress(final) if final is not None else None)

    def _run(self):
        if not self._wait_for_slot():
            return ms.CANCELLED, "aborted while queued"
        try:
            return self._run_in_slot()
        finally:
            self.outgoing.release()

    def _run_adopted(self, job):
        # The job already runs: it takes a slot if one is free, never waits.
        slot = self.outgoing.acquire(blocking=False)
        try:
            return self._end(*self._watch(job))
        finally:
            if slot:
                self.outgoing.release()

    def _wait_for_slot(self):
        while not self.outgoing.acquire(timeout=0.5):
            if self._abort.is_set():
                return False
        if self._abort.is_set():
            self.outgoing.release()
            return False
        return True

    def _run_in_slot(self):
        if not self._move(ms.PREPARING):
            return ms.CANCELLED, "the migration was ended while it was queued"
        self._only_prepared = True
        info, why = self._prepare_destination()
        if why is not None:
            self._rollback_destination()
            return ms.FAILED, "the destination could not prepare: %s" % why
        if self._abort.is_set() or not self._move(ms.RUNNING):
            self._rollback_destination()
            return ms.CANCELLED, "aborted while preparing"
        return self._end(*self._migrate(info or {}))

    def _prepare_destination(self):
        """(what the destination returned, None) or (None, why not)."""
        try:
            return self.compute.pre_live_migration(
                self.ctx, self.migration.dest_compute, self.instance, self.migration,
                timeout=self.conf.migration.pre_live_migration_timeout), None
        except exception.DestinationNotReady as exc:
            return None, exc.message
        except messaging.MessagingException as exc:
            return None, "%s did not answer (%s)" % (self.migration.dest_compute,
                                                     type(exc).__name__)

    def _end(self, status, reason):
        if status == "completed":
            self._complete()
            return ms.COMPLETED, None
        self._rollback_destination()
        return (ms.CANCELLED if status == "cancelled" else ms.FAILED), reason

    def _migrate(self, dest_info):
        policy = self._policy()
        self._only_prepared = False  # from here the guest may end up on either side
        try:
            job = self.driver.live_migration_start(self.instance, self.migration,
                                                   dest_info, policy)
        except virt_driver.VirtError as exc:
            return "failed", str(exc)
        return self._watch(job, policy)

    def _policy(self):
        return policy_config.resolve(self.conf.migration, self.instance.flavor.extra_specs)

    def _watch(self, job, policy=None):
        self.job = job
        policy = policy or self._policy()
        facts = policies.MigrationFacts(
            memory_bytes=self.instance.flavor.memory_mb * 1024 * 1024,
            disk_bytes=job.disk_sizes() if self.migration.block_migration else (),
            guest_paused=self.instance.vm_state == "paused")
        self.monitor = monitor_mod.Monitor(
            policy, facts, job, self._on_action, self._on_progress,
            poll_interval=self.conf.migration.poll_interval,
            progress_interval=self.conf.migration.progress_save_interval)
        if self._abort.is_set():
            self.monitor.request_abort()
        if self._arrived.is_set():
            self.monitor.notify_arrived()
        return self.monitor.run()

    def _complete(self):
        self.compute.post_live_migration_at_destination(
            self.ctx, self.migration.dest_compute, self.instance, self.migration)

    def _clean_source(self):
        """Never fails the migration: it ended, the guest runs on the
        destination; what cannot be removed now is left for the next start."""
        try:
            if self.job is not None and not wait_for_end(self.job, TEARDOWN_TIMEOUT_S):
                LOG.error("Live migration %s: the source's hypervisor job still runs %ss "
                          "after the guest arrived on %s; clean-up left for the next start",
                          self.migration.uuid, TEARDOWN_TIMEOUT_S, self.migration.dest_compute)
                return
            self.driver.post_live_migration_at_source(self.instance)
        except Exception:
            LOG.exception("Clean-up after live migration %s failed on the source",
                          self.migration.uuid)

    def _undo_preparation(self):
        if not self._only_prepared:
            return
        try:
            self._rollback_destination()
        except Exception:
            LOG.exception("Could not roll back the destination of live migration %s",
                          self.migration.uuid)

    def _rollback_destination(self):
        self.compute.rollback_live_migration_at_destination(
            self.ctx, self.migration.dest_compute, self.instance, self.migration)

    # --- reports --------------------------------------------------------------------
    def _move(self, status):
        return self.conductor.migration_update(self.ctx, self.migration.uuid, status=status)

    def _on_action(self, action, stats):
        status = ms.POSTCOPY if action.kind == "start_postcopy" else None
        self.conductor.migration_update(
            self.ctx, self.migration.uuid, status=status, progress=_progress(stats),
            event={"event": POLICY_EVENT, "result": "Success", "host": self.conf.host,
                   "details": _describe(action)})

    def _on_progress(self, stats):
        self.conductor.migration_update(self.ctx, self.migration.uuid,
                                        progress=_progress(stats))


def wait_for_end(job, timeout, clock=time.monotonic):
    """Wait until ``job.status`` leaves running (woken by its end notice when
    it has one); False after ``timeout`` seconds."""
    ended = threading.Event()
    notify_on_end = getattr(job, "notify_on_end", None)
    if notify_on_end is not None:
        notify_on_end(ended.set)
    deadline = clock() + timeout
    while job.status == "running":
        left = deadline - clock()
        if left <= 0:
            return False
        ended.wait(min(0.5, left))
        ended.clear()
    return True


def _progress(stats):
    return {"memory_total": stats.memory_total, "memory_processed": stats.memory_processed,
            "memory_remaining": stats.memory_remaining, "disk_total": stats.disk_total,
            "disk_processed": stats.disk_processed, "disk_remaining": stats.disk_remaining}


def _describe(action):
    figures = ", ".join("%s=%s" % kv for kv in sorted(action.figures.items()))
    return "%s%s" % (action, " [%s]" % figures if figures else "")
