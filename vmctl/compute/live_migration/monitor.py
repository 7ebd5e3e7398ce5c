"""The migration monitor: poll the hypervisor job, apply the policy.

One Monitor watches one running live migration on the source host. Every
``poll_interval`` seconds it reads the job statistics, asks the convergence
policy (``policies.decide``) what to do, applies the actions to the job and
reports each decision (an instance action event, which carries the
progress) and, at most every ``progress_interval`` seconds, the progress;
the last figures are left in ``final_stats`` for the report of the end.
``notify_arrived()`` (the destination reports that its hypervisor resumed
the guest) ends the watch as completed (``arrived``) while the job is still
tearing down the source side. In post-copy that report comes at the end
too: libvirt announces the switch to post-copy with RESUMED/POSTCOPY and
only the end, when the destination holds the whole guest, with
RESUMED/MIGRATED. Operator requests (abort,
force-complete) are taken between polls. Any failure of the monitor itself
aborts the job: a migration is never left running unwatched.

``job`` is the driver's handle of the hypervisor job, a
``vmctl.virt.live_job.LiveMigrationJob`` (status, statistics and the
control calls ``actions.apply`` makes).
"""

import logging
import threading
import time

from vmctl.compute.live_migration import actions as act
from vmctl.compute.live_migration import policies

LOG = logging.getLogger(__name__)

FIRST_POLL_S = 0.025


def next_wait(poll_interval, polls):
    """Seconds to wait after poll number ``polls`` (0 = the first).

    Quickly at first, then every poll_interval: a short migration is seen
    to end within tens of milliseconds, a long one costs no more polls than
    a steady rate. (The end of a job that has ``notify_on_end`` cuts the
    wait short.)
    """
    return min(poll_interval, FIRST_POLL_S * 2 ** polls)


class Monitor:
    def __init__(self, policy, facts, job, on_action, on_progress,
                 poll_interval=0.5, progress_interval=5.0, clock=time.monotonic):
        self.policy = policy
        self.facts = facts
        self.job = job
        self.on_action = on_action
        self.on_progress = on_progress
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self.clock = clock
        self._wake = threading.Event()
        self._abort_reason = None
        self._force = False
        self.arrived = False  # ended by the destination's report, not by the job
        self._last_stats = None
        self.final_stats = None
        # An adopted job may already have paused the guest (force-complete:
        # unpaused if the migration fails) or be in post-copy (no abort).
        self.paused_guest = bool(job.paused_by_migration)
        self.postcopy = bool(job.postcopy)
        job.notify_on_end(self._wake.set)

    # --- operator requests (any thread) ---------------------------------------
    def request_abort(self, reason="aborted by the operator"):
        """False once in post-copy: the guest already runs on the destination."""
        if self.postcopy:
            return False
        self._abort_reason = reason
        self._wake.set()
        return True

    def request_force_complete(self):
        self._force = True
        self._wake.set()

    def notify_arrived(self):
        """The guest runs on the destination (its hypervisor resumed it)."""
        self.arrived = True
        self._wake.set()

    # --- the loop -------------------------------------------------------------------
    def run(self):
        """Watch until the job ends; (status, reason)."""
        try:
            self._loop()
        except Exception as exc:  # never leave a job unwatched
            LOG.exception("Migration monitor failed; aborting the job")
            self._abort_quietly()
            return "error", "the migration monitor failed: %s" % exc
        if self.arrived:
            return "completed", None
        if self.paused_guest and self.job.status != "completed":
            self.job.unpause()  # force-complete paused it; it stays on the source
        return self.job.status, self.job.reason or self._abort_reason

    def _loop(self):
        state = policies.start(self.policy, self.facts)
        started = self.clock()
        saved_at = None
        polls = 0
        while not self.arrived and self.job.status == "running":
            stats = self._last_stats = self.job.stats()
            now = self.clock() - started
            if self._abort_reason and not self.postcopy:
                self.job.abort()  # again at each poll until the job ends
            else:
                state, reported = self._decide(state, stats, now)
                if reported:
                    saved_at = now  # the decisions' reports carried the progress
                elif saved_at is None or now - saved_at >= self.progress_interval:
                    self.on_progress(stats)
                    saved_at = now
            self._wake.wait(next_wait(self.poll_interval, polls))
            self._wake.clear()
            polls += 1
        # Once arrived, the source's domain is being stopped: no more calls on it.
        self.final_stats = (self._last_stats if self.arrived and self._last_stats
                            else self.job.stats())

    def _decide(self, state, stats, now):
        found = []
        if self._force:
            self._force = False
            state, found = policies.on_force_complete(self.policy, state)
        state, more = policies.decide(self.policy, state, stats, now)
        reported = False
        for action in found + more:
            reported = self._apply(action, stats) or reported
        return state, reported

    def _apply(self, action, stats):
        """Apply and report one action; whether it was reported."""
        if isinstance(action, act.StartPostCopy) and self.paused_guest:
            return False  # a paused guest is never migrated in post-copy
        act.apply(self.job, action)
        if isinstance(action, act.StartPostCopy):
            self.postcopy = True
        elif isinstance(action, act.ForceComplete):
            self.paused_guest = True
        elif isinstance(action, act.Abort):
            self._abort_reason = action.reason
        self.on_action(action, stats)
        return True

    def _abort_quietly(self):
        try:
            if self.job.status == "running" and not self.postcopy:
                self.job.abort()
        except Exception:
            LOG.exception("Could not abort the migration job")
