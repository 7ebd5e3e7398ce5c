"""The destination's report that the guest runs there ends the watch as
completed while the source's hypervisor still tears its side down; the
completion is then recorded before the source's clean-up, which waits for
the job's end."""

import threading
import types

from vmctl import migration_states as ms
from vmctl.compute.live_migration import config as policy_config
from vmctl.compute.live_migration import monitor
from vmctl.compute.live_migration import policies
from vmctl.compute.live_migration import source
from vmctl.virt import live_job


class TearingDownJob(live_job.LiveMigrationJob):
    """Running (tearing down) until end(); counts the calls made on it."""

    status = "running"
    postcopy = False
    start_postcopy = throttle = set_bandwidth = pause = unpause = abort = \
        lambda self, *args: None

    def __init__(self, postcopy=False):
        self.status = "running"
        self.reason = None
        self.postcopy = postcopy
        self.polls = 0
        self.listeners = []

    def notify_on_end(self, fn):
        self.listeners.append(fn)

    def stats(self):
        self.polls += 1
        return live_job.JobStats(memory_total=128 << 20, memory_remaining=1 << 20)

    def end(self, status="completed"):
        self.status = status
        for fn in list(self.listeners):
            fn()

    def set_max_downtime(self, ms):
        pass


def _monitor(job, progress=None):
    return monitor.Monitor(policy_config.MigrationPolicy(),
                           policies.MigrationFacts(memory_bytes=128 << 20), job,
                           on_action=lambda a, s: None,
                           on_progress=[].append if progress is None else progress.append,
                           poll_interval=1000.0)


def _in_thread(fn):
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", fn()), daemon=True)
    worker.start()
    return worker, box


def test_arrival_ends_the_watch_without_another_call_on_the_job(monkeypatch):
    monkeypatch.setattr(monitor, "FIRST_POLL_S", 1000.0)
    job, progress = TearingDownJob(), []
    mon = _monitor(job, progress)
    worker, box = _in_thread(mon.run)
    while job.polls < 1:
        worker.join(0.01)
    mon.notify_arrived()
    worker.join(30)
    assert box["result"] == ("completed", None)
    assert job.status == "running"            # the job still tears down
    assert job.polls == 1                     # the end's figures are the last poll's
    assert mon.final_stats.memory_remaining == 1 << 20


def test_arrival_ends_a_post_copy_watch_too(monkeypatch):
    # The destination reports the end of post-copy (libvirt: RESUMED/MIGRATED;
    # its start is RESUMED/POSTCOPY, which the destination does not report).
    monkeypatch.setattr(monitor, "FIRST_POLL_S", 0.01)
    job = TearingDownJob(postcopy=True)
    mon = _monitor(job)
    worker, box = _in_thread(mon.run)
    worker.join(0.2)
    assert worker.is_alive()                  # watching the post-copy job
    mon.notify_arrived()
    worker.join(30)
    assert box["result"] == ("completed", None)
    assert job.status == "running"


class Deps:
    """Conductor, compute RPC and driver of a SourceRun, recording the order."""

    def __init__(self, job):
        self.calls = []
        self.job = job

    def migration_update(self, ctx, uuid, status=None, progress=None, event=None):
        return True

    def pre_live_migration(self, ctx, host, instance, migration, timeout):
        return {"ok": True, "info": {}}

    def live_migration_start(self, instance, migration, dest_info, policy):
        return self.job

    def post_live_migration_at_destination(self, ctx, host, instance, migration):
        self.calls.append("destination")

    def live_migration_finished(self, ctx, uuid, status, reason, progress=None):
        self.calls.append(("finished", status, self.job.status))

    def post_live_migration_at_source(self, instance):
        self.calls.append(("source clean-up", self.job.status))


def _source_run(deps):
    conf = types.SimpleNamespace(host="compute1", migration=types.SimpleNamespace(
        pre_live_migration_timeout=5, poll_interval=1000.0, progress_save_interval=5))
    instance = types.SimpleNamespace(uuid="i-1", vm_state="active", flavor=types.SimpleNamespace(
        memory_mb=128, extra_specs={}))
    migration = types.SimpleNamespace(uuid="m-1", dest_compute="compute2",
                                      block_migration=False)
    run = source.SourceRun(None, instance, migration, types.SimpleNamespace(
        conf=conf, driver=deps, conductor=deps, compute=deps),
        threading.BoundedSemaphore(1))
    run._policy = policy_config.MigrationPolicy
    return run


def test_an_arrival_records_completed_before_the_source_cleans_up(monkeypatch):
    monkeypatch.setattr(monitor, "FIRST_POLL_S", 1000.0)
    job = TearingDownJob()
    deps = Deps(job)
    run = _source_run(deps)
    run.arrived()                             # before the monitor even started
    worker, _ = _in_thread(run.run)
    while ("finished", ms.COMPLETED, "running") not in deps.calls:
        worker.join(0.01)
    assert deps.calls == ["destination", ("finished", ms.COMPLETED, "running")]
    job.end()                                 # libvirt's confirm phase returns
    worker.join(30)
    assert deps.calls[-1] == ("source clean-up", "completed")


def test_without_an_arrival_the_source_cleans_up_first():
    job = TearingDownJob()
    job.status = "completed"
    deps = Deps(job)
    _source_run(deps).run()
    assert deps.calls == ["destination", ("source clean-up", "completed"),
                          ("finished", ms.COMPLETED, "completed")]


def test_wait_for_end_is_bounded():
    job = TearingDownJob()
    assert source.wait_for_end(job, 0.05) is False
    threading.Timer(0.05, job.end).start()
    assert source.wait_for_end(job, 30) is True
