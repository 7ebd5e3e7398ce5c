"""Live migration for the fake driver: a modelled hypervisor job.

The job is a ``FakeMigration`` (memory size, dirty rate, bandwidth,
iterations, downtime, post-copy, throttling) advanced with the wall clock,
sped up by ``[fake] migration_time_scale``. The guest's dirty rate comes
from the instance metadata ``fake_dirty_rate_mib`` (MiB/s, default 0), the
link from ``[fake] migration_bandwidth_mib`` or the policy's bandwidth
limit. Deterministic for a given instance (the seed is its uuid).
"""

import threading
import time
import uuid as uuidlib

from vmctl.virt import fake_migration

MiB = 1024 * 1024


class FakeJob:
    """A FakeMigration driven by the wall clock; thread-safe."""

    def __init__(self, model, time_scale, disk_bytes=0, clock=time.monotonic):
        self.model = model
        self.time_scale = time_scale
        self.clock = clock
        self.reason = None
        self._disk_bytes = disk_bytes
        self._lock = threading.Lock()
        self._last = clock()

    def _advance(self):
        now = self.clock()
        if self.model.status == "running":
            self.model.advance((now - self._last) * self.time_scale)
        self._last = now

    @property
    def status(self):
        with self._lock:
            self._advance()
            return self.model.status

    def stats(self):
        with self._lock:
            self._advance()
            return self.model.stats()

    def disk_sizes(self):
        return (self._disk_bytes,) if self._disk_bytes else ()

    def _call(self, name, *args):
        with self._lock:
            self._advance()
            getattr(self.model, name)(*args)

    def set_max_downtime(self, ms):
        self._call("set_max_downtime", ms)

    def start_postcopy(self):
        self._call("start_postcopy")

    def throttle(self, percent):
        self._call("throttle", percent)

    def pause(self):
        self._call("pause")

    def unpause(self):
        self._call("unpause")

    def abort(self):
        self._call("abort")
        self.reason = self.reason or "aborted"


def start_job(conf, instance, policy, block_migration):
    memory = instance.flavor.memory_mb * MiB
    dirty = float((instance.metadata or {}).get("fake_dirty_rate_mib", 0)) * MiB
    bandwidth = (policy.bandwidth_mib or conf.fake.migration_bandwidth_mib) * MiB
    disk = instance.flavor.root_gb * 1024 * MiB if block_migration else 0
    model = fake_migration.FakeMigration(
        memory, dirty, bandwidth, seed=uuidlib.UUID(instance.uuid).int & 0xFFFF,
        disk_bytes=disk, guest_paused=instance.vm_state == "paused")
    return FakeJob(model, conf.fake.migration_time_scale, disk)
