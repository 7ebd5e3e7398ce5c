"""The fake driver's live-migration job: a modelled hypervisor job.

The job is a ``FakeMigration`` (memory size, dirty rate, bandwidth,
iterations, downtime, post-copy, throttling) advanced with the wall clock,
sped up by ``[fake] migration_time_scale``. The guest's dirty rate comes
from the instance metadata ``fake_dirty_rate_mib`` (MiB/s, default 0) and
``fake_working_set_mib`` (the memory it dirties, default all of it), the
link from ``[fake] migration_bandwidth_mib`` or the policy's bandwidth
limit. Deterministic for a given instance (the seed is its uuid).

Like a real hypervisor's job, the job outlives the agent that started it:
its record (the model's parameters, the wall-clock start and every control
call with the wall time it was made) is a JSON file under ``state_path``.
The model being deterministic, ``load_job`` recomputes the job from the
record at any later time -- still running, or ended while no agent
watched. The record goes when the job is seen to fail or be cancelled (the
guest stays on the source), or when the source cleans up after a completed
migration (``FakeDriver.post_live_migration_at_source``).

Tear-down: with the instance metadata ``fake_confirm_seconds`` the job
stays ``running`` for that long after the switch-over, as libvirt's confirm
phase does while it stops the source's QEMU; ``switched_over`` is then
already true, and the destination's ``FakeDriver.watch_arrival`` reports it
(the guest runs there), as libvirt's RESUMED/MIGRATED event does.
"""

import contextlib
import json
import logging
import os
import threading
import time
import uuid as uuidlib

from vmctl.virt import fake_live_model
from vmctl.virt import live_job

LOG = logging.getLogger(__name__)

MiB = 1024 * 1024
# Control calls a job records (FakeMigration methods).
CONTROLS = ("set_max_downtime", "start_postcopy", "throttle", "set_bandwidth", "pause",
            "unpause", "abort")


def record_path(state_path, host, instance_uuid):
    return os.path.join(state_path, "fake-live-migration-%s-%s.json" % (host, instance_uuid))


def _write(path, record):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, path)


def remove_record(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class FakeJob(live_job.LiveMigrationJob):
    """A FakeMigration driven by the wall clock; thread-safe.

    ``record``/``path``: where the job is persisted (None: in memory only).
    ``migration``: what the starting agent knew of the migration (uuid,
    destination, ...), for an agent that adopts the job after a restart.
    """

    def __init__(self, model, time_scale, disk_bytes=0, clock=time.time, record=None,
                 path=None, confirm_s=0.0):
        self.model = model
        self.time_scale = time_scale
        self.clock = clock
        self.confirm_s = confirm_s
        self.reason = None
        self.record = record
        self.path = path
        self.migration = (record or {}).get("migration")
        self._disk_bytes = disk_bytes
        self._lock = threading.Lock()
        self._last = self._started_at = record["started_at"] if record else clock()

    def _advance(self):
        now = self.clock()
        if self.model.status == "running":
            self.model.advance(max(0.0, now - self._last) * self.time_scale)
            if self.model.status == "cancelled" and self.path:
                remove_record(self.path)  # the hypervisor forgets an ended job
        self._last = now

    @property
    def status(self):
        with self._lock:
            self._advance()
            if self.model.status == "completed" and self._tearing_down():
                return "running"
            return self.model.status

    @property
    def switched_over(self):
        """The guest runs on the destination (the job may still tear down)."""
        with self._lock:
            self._advance()
            return self.model.status == "completed"

    def _tearing_down(self):
        switched_at = self._started_at + self.model.now / self.time_scale
        return self.clock() < switched_at + self.confirm_s

    @property
    def postcopy(self):
        return self.model.postcopy

    @property
    def paused_by_migration(self):
        """The job paused the guest (force-complete without post-copy)."""
        return self.model._paused_at is not None

    def stats(self):
        with self._lock:
            self._advance()
            return self.model.stats()

    def disk_sizes(self):
        return (self._disk_bytes,) if self._disk_bytes else ()

    def _call(self, name, *args):
        with self._lock:
            self._advance()
            if self.model.status != "running":
                LOG.info("%s skipped: the migration job is over", name)
                return False
            getattr(self.model, name)(*args)
            if self.record is not None and self.model.status == "running":
                self.record["actions"].append([self._last, name, list(args)])
                _write(self.path, self.record)
            elif self.path and self.model.status == "cancelled":
                remove_record(self.path)
        return True

    def set_max_downtime(self, ms):
        self._call("set_max_downtime", ms)

    def start_postcopy(self):
        self._call("start_postcopy")

    def throttle(self, percent):
        self._call("throttle", percent)

    def set_bandwidth(self, bytes_per_second):
        self._call("set_bandwidth", bytes_per_second)

    def pause(self):
        self._call("pause")

    def unpause(self):
        self._call("unpause")

    def abort(self):
        if self._call("abort"):
            self.reason = self.reason or "aborted"


def _model(params):
    return fake_live_model.FakeMigration(
        params["memory"], params["dirty"], params["bandwidth"],
        working_set_bytes=params.get("working_set"), seed=params["seed"],
        disk_bytes=params["disk"], guest_paused=params["guest_paused"])


def start_job(conf, instance, policy, migration, path=None, clock=time.time):
    """Start the modelled job of ``migration``; persisted at ``path`` if given."""
    block = bool(migration.block_migration)
    metadata = instance.metadata or {}
    working_set = float(metadata.get("fake_working_set_mib", 0) or 0) * MiB
    params = {
        "memory": instance.flavor.memory_mb * MiB,
        "dirty": float(metadata.get("fake_dirty_rate_mib", 0)) * MiB,
        "working_set": working_set or None,
        "bandwidth": (policy.bandwidth_mib or conf.fake.migration_bandwidth_mib) * MiB,
        "seed": uuidlib.UUID(instance.uuid).int & 0xFFFF,
        "disk": instance.flavor.root_gb * 1024 * MiB if block else 0,
        "guest_paused": instance.vm_state == "paused",
        "confirm": float(metadata.get("fake_confirm_seconds", 0) or 0),
    }
    record = {
        "migration": {"uuid": migration.uuid, "instance_uuid": instance.uuid,
                      "source_node": migration.source_node,
                      "dest_compute": migration.dest_compute,
                      "dest_node": migration.dest_node, "block_migration": block},
        "params": params, "time_scale": conf.fake.migration_time_scale,
        "started_at": clock(), "actions": [],
    }
    if path is not None:
        _write(path, record)
    return FakeJob(_model(params), record["time_scale"], params["disk"], clock=clock,
                   record=record if path else None, path=path, confirm_s=params["confirm"])


def load_job(path, clock=time.time):
    """The job recorded at ``path``, recomputed up to now; None without one.

    Replays the recorded control calls at their wall times on a fresh model
    (the same seed gives the same passes), then lets it run to the present.
    """
    try:
        with open(path) as f:
            record = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        LOG.warning("Unreadable fake migration record %s: %s", path, exc)
        return None
    model = _model(record["params"])
    scale = record["time_scale"]
    last = record["started_at"]
    for at, name, args in record["actions"]:
        if model.status == "running":
            model.advance(max(0.0, at - last) * scale)
        last = at
        if name in CONTROLS and model.status == "running":
            with contextlib.suppress(fake_live_model.MigrationStateError):
                getattr(model, name)(*args)
    job = FakeJob(model, scale, record["params"]["disk"], clock=clock, record=record,
                  path=path, confirm_s=record["params"].get("confirm", 0))
    job._last = last
    if any(name == "abort" for _, name, _ in record["actions"]):
        job.reason = "aborted"
    return job


def watch_arrival(path, fn, poll=0.02, limit_s=3600):
    """Destination side: poll the source's job record at ``path`` and call
    ``fn()`` once it has switched over; returns the function that stops."""
    stop = threading.Event()

    def run():
        deadline = time.monotonic() + limit_s
        while not stop.wait(poll) and time.monotonic() < deadline:
            job = load_job(path)
            if job is not None and job.switched_over:
                fn()
                return

    threading.Thread(target=run, name="fake-arrival", daemon=True).start()
    return stop.set
