"""The live-migration job contract: what a virt driver hands the monitor.

A driver's ``live_migration_start`` (and ``adopt_live_migration``) returns
a ``LiveMigrationJob``: the hypervisor's migration of one guest, running.
The compute's migration monitor (``vmctl.compute.live_migration.monitor``)
reads its ``status`` and ``stats()`` and drives it through the control
calls of ``JobControls``; nothing else about the driver is known to it.
Implemented by the libvirt job (``vmctl.virt.libvirt.live_job``) and the
fake driver's job (``vmctl.virt.fake_live_job``); the fake driver's model
(``vmctl.virt.fake_live_model``) has the control calls too, so the policy
simulator drives it the same way.

Statistics
----------
``JobStats`` holds the fields of libvirt's ``virDomainGetJobStats`` (the
``jobStats()`` dict) that the convergence policies and the progress report
use, in fixed units: times in milliseconds, sizes in bytes, rates in bytes
per second.

libvirt reports ``memory_dirty_rate`` in **pages per second**, next to
``memory_page_size`` (bytes). ``from_libvirt`` multiplies the two, so
``JobStats.memory_dirty_rate`` is always bytes per second; a dict without
``memory_page_size`` is taken to use 4 KiB pages. QEMU measures the dirty
rate when it synchronises the dirty bitmap (at the end of an iteration), so
it reads 0 during the first iteration.

``downtime`` is, for a running job, the downtime QEMU expects if it switched
over now ("expected-downtime"); for a completed job, the downtime the guest
actually had. libvirt has no "post-copy" field: the driver knows it started
post-copy (or saw the ``SUSPENDED_POSTCOPY`` event) and says so; failing
that, ``memory_postcopy_requests > 0`` is taken as the sign.
"""

import abc
import dataclasses

# virDomainJobType (libvirt-domain.h).
JOB_NONE = 0
JOB_BOUNDED = 1
JOB_UNBOUNDED = 2
JOB_COMPLETED = 3
JOB_FAILED = 4
JOB_CANCELLED = 5

DEFAULT_PAGE_SIZE = 4096


# Job statuses (``LiveMigrationJob.status``).
RUNNING = "running"
COMPLETED = "completed"
CANCELLED = "cancelled"        # aborted: the guest stays on the source
FAILED = "failed"              # the hypervisor gave up: the guest stays on the source
STATUSES = (RUNNING, COMPLETED, CANCELLED, FAILED)


class JobControls(abc.ABC):
    """The calls a convergence policy's decisions turn into.

    A call made once the job has ended is a no-op (the job is over); one the
    job cannot take in its state (abort in post-copy, post-copy of a paused
    guest or of a job started without it) raises.
    """

    @abc.abstractmethod
    def set_max_downtime(self, ms):
        """Allow the switch-over this much downtime (ms)."""

    @abc.abstractmethod
    def start_postcopy(self):
        """Switch to post-copy: the guest runs on the destination from now on."""

    @abc.abstractmethod
    def throttle(self, percent):
        """Throttle the guest's vCPUs by ``percent`` (auto-converge)."""

    @abc.abstractmethod
    def set_bandwidth(self, bytes_per_second):
        """Limit the migration's bandwidth."""

    @abc.abstractmethod
    def pause(self):
        """Force-complete without post-copy: pause the guest so it converges."""

    @abc.abstractmethod
    def unpause(self):
        """Resume a guest ``pause()`` paused (the forced migration failed)."""

    @abc.abstractmethod
    def abort(self):
        """Cancel the job; the guest stays on the source, running."""


class LiveMigrationJob(JobControls):
    """One running live migration, as the monitor sees it."""

    reason = None           # why the job ended (cancelled / failed), else None

    @property
    @abc.abstractmethod
    def status(self):
        """One of ``STATUSES``."""

    @abc.abstractmethod
    def stats(self):
        """One poll: the ``JobStats`` of the job (its last figures once over)."""

    @property
    def postcopy(self):
        """The job is in post-copy (it can no longer be aborted)."""
        return False

    @property
    def paused_by_migration(self):
        """The job paused the guest (force-complete), e.g. before an adoption."""
        return False

    def disk_sizes(self):
        """Bytes of each disk a block migration copies (() without one)."""
        return ()

    def notify_on_end(self, fn):
        """Call ``fn()`` (quick, no arguments, any thread) when the job may
        have ended, at once if it has. A job that cannot tell keeps this
        no-op: the monitor then sees the end at its next poll."""


@dataclasses.dataclass(frozen=True)
class JobStats:
    """One poll of a migration job (see the module docstring for units)."""

    time_elapsed: int = 0              # ms since the job started
    data_total: int = 0                # bytes, memory + disk
    data_processed: int = 0
    data_remaining: int = 0
    memory_total: int = 0              # bytes of guest RAM
    memory_processed: int = 0          # bytes sent so far (all iterations)
    memory_remaining: int = 0          # bytes still dirty in this pass
    memory_dirty_rate: int = 0         # bytes/s (libvirt: pages/s)
    memory_iteration: int = 0          # pre-copy pass, 1 = first full pass
    memory_bps: int = 0                # bytes/s QEMU is sending at
    memory_postcopy_requests: int = 0  # page faults served in post-copy
    downtime: int = 0                  # ms: expected (running) / actual (done)
    disk_total: int = 0                # bytes, block migration only
    disk_processed: int = 0
    disk_remaining: int = 0
    auto_converge_throttle: int = 0    # % of guest CPU throttled
    postcopy: bool = False             # the job is in post-copy mode
    job_type: int = JOB_UNBOUNDED      # virDomainJobType

    @property
    def remaining(self):
        """Bytes left to send: data_remaining, or memory + disk."""
        return self.data_remaining or (self.memory_remaining + self.disk_remaining)

    @property
    def total(self):
        return self.data_total or (self.memory_total + self.disk_total)

    @property
    def elapsed_s(self):
        return self.time_elapsed / 1000.0

    def progress(self):
        """The figures the API shows while a migration runs."""
        return {
            "memory_total_bytes": self.memory_total,
            "memory_processed_bytes": self.memory_processed,
            "memory_remaining_bytes": self.memory_remaining,
            "disk_total_bytes": self.disk_total,
            "disk_processed_bytes": self.disk_processed,
            "disk_remaining_bytes": self.disk_remaining,
        }

    @classmethod
    def from_libvirt(cls, stats, postcopy=None):
        """Parse the dict ``virDomain.jobStats()`` returns.

        Missing fields read as 0 (libvirt omits what QEMU did not report).
        ``postcopy``: whether the driver knows the job is in post-copy; None
        infers it from ``memory_postcopy_requests``.
        """
        def num(key):
            value = stats.get(key, 0)
            return int(value) if value is not None else 0

        page_size = num("memory_page_size") or DEFAULT_PAGE_SIZE
        fields = {f.name: num(f.name) for f in dataclasses.fields(cls)
                  if f.name not in ("postcopy", "job_type", "memory_dirty_rate")}
        fields["memory_dirty_rate"] = num("memory_dirty_rate") * page_size
        fields["job_type"] = int(stats.get("type", JOB_UNBOUNDED))
        if postcopy is None:
            postcopy = fields["memory_postcopy_requests"] > 0
        return cls(postcopy=bool(postcopy), **fields)
