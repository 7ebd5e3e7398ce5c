"""The hypervisor's live migration job statistics, normalised.

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

import dataclasses

# virDomainJobType (libvirt-domain.h).
JOB_NONE = 0
JOB_BOUNDED = 1
JOB_UNBOUNDED = 2
JOB_COMPLETED = 3
JOB_FAILED = 4
JOB_CANCELLED = 5

DEFAULT_PAGE_SIZE = 4096


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
