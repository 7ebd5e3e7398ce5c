"""A deterministic model of a QEMU live migration, for the fake driver.

It models what the convergence policies react to: RAM size, dirty rate,
working set, bandwidth, pre-copy iterations, the switch-over test against
the allowed downtime, post-copy, auto-converge throttling, pause and abort.
Time only moves through ``advance(dt)``; for a given ``seed`` every run is
the same.

The model
---------
- Block migration (``disk_bytes``) first copies the disk at the bandwidth
  (``memory_iteration`` stays 0), then migrates memory.
- Pre-copy pass 1 sends all memory. While a pass runs the guest dirties
  pages at ``dirty_rate * (1 - throttle)`` bytes/s, the dirtied set bounded
  by ``working_set_bytes``: ``dirtied(t) = min(W, rate * t)``. Pass n + 1
  sends what pass n left dirty. The dirty rate of each pass is drawn once
  from ``rate * (1 +/- noise)`` with ``random.Random(seed)``.
- QEMU switches over as soon as what it would still have to send with the
  guest stopped, ``unsent + dirtied``, can be sent within the allowed
  downtime: ``unsent + dirtied <= bandwidth * max_downtime``. The model
  solves for that instant exactly (the pending bytes are piecewise linear in
  time), so the switch happens mid-pass when it can. The downtime is then
  ``pending / bandwidth`` (+ ``SWITCHOVER_MS`` for the device state).
- Like QEMU, ``memory_remaining`` is what is left of the current pass (the
  bytes dirtied since the pass began are not counted until the next bitmap
  sync), and ``memory_dirty_rate`` is measured at each sync, as bytes
  dirtied during the pass / its duration: 0 during the first pass.
- ``start_postcopy()``: the guest runs on the destination (stops dirtying
  source memory); the pending pages are pulled at the bandwidth; the guest
  saw ``POSTCOPY_DOWNTIME_MS`` (6 ms measured on the KVM lab) of downtime.
  ``abort()`` then raises: the source can no longer take the guest back.
- ``pause()``: the guest stops dirtying; the downtime it sees runs from the
  pause to the end of the switch-over.
- ``throttle(p)`` cuts the dirty rate by p % and slows the guest by as much
  (``guest_cpu_lost_s`` integrates the CPU time it lost).

Simplifications
---------------
Bandwidth is constant between ``set_bandwidth`` calls and shared by nothing
else; pages are dirtied uniformly and never twice within the counted set;
QEMU's extra bitmap sync when its estimate first drops below the threshold
is folded into the exact test above; disk writes during block migration are
not modelled; compression, multifd and XBZRLE are not modelled; a post-copy
guest is not slowed by page faults.
"""

import math
import random

from vmctl.virt import live_job

QEMU_DEFAULT_DOWNTIME_MS = 300   # QEMU's downtime-limit before anyone sets it
SWITCHOVER_MS = 2                # device state at the switch-over
POSTCOPY_DOWNTIME_MS = 6         # measured: KVM-LAB.md
PAGE_SIZE = 4096
EPSILON = 1e-9


class MigrationStateError(Exception):
    """The operation is not possible in the migration's current state."""


class FakeMigration(live_job.JobControls):
    """The model; its control calls are the job contract's (``live_job``)."""

    def __init__(self, memory_bytes, dirty_rate_bps, bandwidth_bps,
                 working_set_bytes=None, seed=0, disk_bytes=0, *, noise=0.05,
                 guest_paused=False):
        if memory_bytes <= 0 or bandwidth_bps <= 0 or dirty_rate_bps < 0:
            raise ValueError("memory and bandwidth must be > 0, dirty rate >= 0")
        self.memory_total = memory_bytes
        self.disk_total = disk_bytes
        self.dirty_rate = dirty_rate_bps
        self.bandwidth = bandwidth_bps
        self.working_set = min(working_set_bytes or memory_bytes, memory_bytes)
        self.noise = noise
        self._rng = random.Random(seed)
        self.now = 0.0
        self.status = "running"          # running | completed | cancelled
        self.max_downtime_ms = QEMU_DEFAULT_DOWNTIME_MS
        self.throttle_percent = 0
        self.postcopy = False
        self.paused = guest_paused
        self._paused_at = None           # set when the migration paused it
        self.downtime_ms = None          # guest-seen, once completed
        self.guest_cpu_lost_s = 0.0
        self.disk_sent = 0.0
        self.memory_sent = 0.0
        self.iteration = 0
        self.unsent = float(memory_bytes)  # left of the current pass
        self.dirtied = 0.0                 # dirtied since the pass began
        self.measured_dirty_rate = 0.0
        self._pass_started = 0.0
        self._pass_rate = 0.0
        self.passes = []                   # (iteration, start s, bytes to send)
        self._postcopy_pulled = 0.0
        if not disk_bytes:
            self._begin_pass(float(memory_bytes))

    # -- what the policies' monitor applies ---------------------------------

    def set_max_downtime(self, ms):
        self.max_downtime_ms = ms

    def set_bandwidth(self, bps):
        if bps <= 0:
            raise ValueError("bandwidth must be > 0")
        self.bandwidth = bps

    def throttle(self, percent):
        self._require_running("throttle")
        self.throttle_percent = max(0, min(99, int(percent)))

    def start_postcopy(self):
        self._require_running("start post-copy")
        if self.paused:
            raise MigrationStateError("post-copy of a paused guest is refused")
        self.postcopy = True
        # Everything still dirty on the source is pulled by the destination.
        self.unsent, self.dirtied = self.unsent + self.dirtied, 0.0

    def pause(self):
        self._require_running("pause")
        if not self.paused:
            self.paused = True
            self._paused_at = self.now

    def unpause(self):
        """Resume the guest (the monitor does this when a forced migration
        fails); it dirties memory again and the pause stops counting."""
        self.paused = False
        self._paused_at = None

    def abort(self):
        if self.postcopy:
            raise MigrationStateError("cannot abort a migration in post-copy")
        self._require_running("abort")
        self.status = "cancelled"

    def _require_running(self, what):
        if self.status != "running":
            raise MigrationStateError(f"cannot {what}: migration {self.status}")

    # -- time ---------------------------------------------------------------

    def advance(self, dt_seconds):
        """Let ``dt_seconds`` of migration happen."""
        end = self.now + dt_seconds
        while self.status == "running" and end - self.now > EPSILON:
            left = end - self.now
            if self.disk_sent < self.disk_total:
                self._copy_disk(left)
            elif self.postcopy:
                self._pull_pages(left)
            else:
                self._precopy(left)
        if self.status == "running":
            self.now = end

    def _copy_disk(self, left):
        t = min(left, (self.disk_total - self.disk_sent) / self.bandwidth)
        self.disk_sent = min(self.disk_total, self.disk_sent + self.bandwidth * t)
        self._tick(t)
        if self.disk_total - self.disk_sent < 1:
            self.disk_sent = self.disk_total
            self._begin_pass(float(self.memory_total))

    def _pull_pages(self, left):
        t = min(left, self.unsent / self.bandwidth)
        sent = min(self.unsent, self.bandwidth * t)
        self.unsent -= sent
        self.memory_sent += sent
        self._postcopy_pulled += sent
        self._tick(t)
        if self.unsent < 1:
            self.unsent = 0.0
            self._complete(POSTCOPY_DOWNTIME_MS)

    def _precopy(self, left):
        end_of_pass = self.unsent / self.bandwidth
        switch = self._time_to_switch()
        t = min(left, end_of_pass, switch)
        self._send(t)
        if t == switch:
            self._switch_over()
        elif t == end_of_pass:
            self._sync()

    def _send(self, t):
        rate = self._effective_rate()
        self.unsent = max(0.0, self.unsent - self.bandwidth * t)
        self.dirtied = min(self.working_set, self.dirtied + rate * t)
        self.memory_sent += self.bandwidth * t
        self._tick(t)

    def _tick(self, t):
        self.now += t
        if not self.postcopy:
            self.guest_cpu_lost_s += t * self.throttle_percent / 100.0

    def _effective_rate(self):
        if self.paused or self.postcopy:
            return 0.0
        return self._pass_rate * (1 - self.throttle_percent / 100.0)

    def _time_to_switch(self):
        """Seconds until unsent + dirtied <= threshold within this pass."""
        threshold = self.bandwidth * self.max_downtime_ms / 1000.0
        u, d, w = self.unsent, self.dirtied, self.working_set
        b, r = self.bandwidth, self._effective_rate()
        if u + d <= threshold:
            return 0.0
        saturate = (w - d) / r if r > 0 else math.inf
        candidates = []
        if b > r:   # before the dirtied set saturates it falls at b - r
            t = (u + d - threshold) / (b - r)
            if t <= saturate:
                candidates.append(t)
        t = (u + w - threshold) / b   # after it saturates it falls at b
        if t >= saturate:
            candidates.append(t)
        found = min(candidates, default=math.inf)
        return found if found <= u / b else math.inf

    def _sync(self):
        """End of a pass: measure the dirty rate, switch over or go again."""
        duration = self.now - self._pass_started
        if duration > 0:
            self.measured_dirty_rate = self.dirtied / duration
        self.unsent = 0.0
        threshold = self.bandwidth * self.max_downtime_ms / 1000.0
        if self.dirtied <= threshold:
            self._switch_over()
        else:
            pending, self.dirtied = self.dirtied, 0.0
            self._begin_pass(pending)

    def _begin_pass(self, to_send):
        self.iteration += 1
        self.unsent = to_send
        self.dirtied = 0.0
        self._pass_started = self.now
        jitter = 1 + self.noise * (2 * self._rng.random() - 1)
        self._pass_rate = self.dirty_rate * jitter
        self.passes.append((self.iteration, round(self.now, 6), int(to_send)))

    def _switch_over(self):
        pending = self.unsent + self.dirtied
        stop_copy_s = pending / self.bandwidth
        self.memory_sent += pending
        self.now += stop_copy_s
        downtime = stop_copy_s * 1000.0 + SWITCHOVER_MS
        if self._paused_at is not None:
            downtime += (self.now - stop_copy_s - self._paused_at) * 1000.0
        self.unsent = self.dirtied = 0.0
        self._complete(downtime)

    def _complete(self, downtime_ms):
        self.status = "completed"
        self.downtime_ms = round(downtime_ms, 3)

    # -- what the hypervisor reports ----------------------------------------

    def expected_downtime_ms(self):
        return (self.unsent + self.dirtied) / self.bandwidth * 1000.0

    def stats(self):
        """The job statistics, as ``JobStats.from_libvirt`` would give them."""
        done = self.status != "running"
        memory_remaining = 0 if self.status == "completed" else int(self.unsent)
        disk_remaining = int(self.disk_total - self.disk_sent)
        job_type = {"running": live_job.JOB_UNBOUNDED,
                    "completed": live_job.JOB_COMPLETED,
                    "cancelled": live_job.JOB_CANCELLED}[self.status]
        downtime = self.downtime_ms if done else self.expected_downtime_ms()
        return live_job.JobStats(
            time_elapsed=int(self.now * 1000),
            data_total=self.memory_total + self.disk_total,
            data_processed=int(self.memory_sent + self.disk_sent),
            data_remaining=memory_remaining + disk_remaining,
            memory_total=self.memory_total,
            memory_processed=int(self.memory_sent),
            memory_remaining=memory_remaining,
            memory_dirty_rate=int(self.measured_dirty_rate),
            memory_iteration=self.iteration,
            memory_bps=0 if done else int(self.bandwidth),
            memory_postcopy_requests=int(self._postcopy_pulled / PAGE_SIZE),
            downtime=int(downtime or 0),
            disk_total=self.disk_total,
            disk_processed=int(self.disk_sent),
            disk_remaining=disk_remaining,
            auto_converge_throttle=self.throttle_percent,
            postcopy=self.postcopy,
            job_type=job_type)
