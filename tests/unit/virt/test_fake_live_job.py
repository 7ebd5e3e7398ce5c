"""The fake driver's live migration job outlives the agent: its record under
state_path recomputes it (running, or ended while nobody watched)."""

import os
import types

import pytest

from vmctl.virt import fake_live_job as flm

MiB = 1024 * 1024
UUID = "0f3c5c0e-6a51-4c3e-9b59-0d7b8f1d2a11"


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def _conf(bandwidth=100, scale=1.0):
    return types.SimpleNamespace(fake=types.SimpleNamespace(
        migration_bandwidth_mib=bandwidth, migration_time_scale=scale))


def _instance(dirty_mib=0, memory_mb=1024, vm_state="active"):
    return types.SimpleNamespace(
        uuid=UUID, vm_state=vm_state, metadata={"fake_dirty_rate_mib": str(dirty_mib)},
        flavor=types.SimpleNamespace(memory_mb=memory_mb, root_gb=1))


def _migration():
    return types.SimpleNamespace(uuid="mig-1", source_node="n1", dest_compute="compute2",
                                 dest_node="n2", block_migration=False)


def _start(tmp_path, clock, dirty_mib=0):
    path = str(tmp_path / "job.json")
    policy = types.SimpleNamespace(bandwidth_mib=0)
    job = flm.start_job(_conf(), _instance(dirty_mib), policy, _migration(), path=path,
                        clock=clock)
    return job, path


def test_a_reloaded_job_is_where_the_first_one_is(tmp_path):
    clock = Clock()
    job, path = _start(tmp_path, clock, dirty_mib=200)  # cannot converge
    clock.now += 3.0
    job.set_max_downtime(100)
    clock.now += 4.0
    job.throttle(30)
    clock.now += 5.0
    before = job.stats()
    again = flm.load_job(path, clock=clock)
    after = again.stats()
    assert again.status == job.status == "running"
    assert after.memory_iteration == before.memory_iteration
    assert after.memory_processed == pytest.approx(before.memory_processed, rel=1e-6)
    assert after.auto_converge_throttle == 30
    assert again.migration == {"uuid": "mig-1", "instance_uuid": UUID, "source_node": "n1",
                               "dest_compute": "compute2", "dest_node": "n2",
                               "block_migration": False}


def test_a_job_that_ended_while_nobody_watched_is_completed(tmp_path):
    clock = Clock()
    job, path = _start(tmp_path, clock)      # 1 GiB at 100 MiB/s: ~10 s
    clock.now += 2.0
    assert job.status == "running"
    clock.now += 60.0                       # the agent was down meanwhile
    again = flm.load_job(path, clock=clock)
    assert again.status == "completed"
    assert again.stats().memory_remaining == 0


def test_post_copy_is_replayed(tmp_path):
    clock = Clock()
    job, path = _start(tmp_path, clock, dirty_mib=200)
    clock.now += 12.0
    job.start_postcopy()
    again = flm.load_job(path, clock=clock)
    assert again.postcopy and again.status == "running"
    clock.now += 60.0
    assert again.status == "completed"


def test_an_aborted_job_leaves_no_record(tmp_path):
    clock = Clock()
    job, path = _start(tmp_path, clock, dirty_mib=200)
    clock.now += 1.0
    job.abort()
    assert job.status == "cancelled"
    assert not os.path.exists(path)
    assert flm.load_job(path, clock=clock) is None


def test_a_job_in_memory_only_writes_nothing(tmp_path):
    clock = Clock()
    policy = types.SimpleNamespace(bandwidth_mib=0)
    job = flm.start_job(_conf(), _instance(), policy, _migration(), clock=clock)
    clock.now += 1.0
    job.set_max_downtime(50)
    assert job.status == "running"
    assert os.listdir(tmp_path) == []


def test_a_forced_pause_is_replayed(tmp_path):
    clock = Clock()
    job, path = _start(tmp_path, clock, dirty_mib=200)
    clock.now += 3.0
    assert not job.paused_by_migration
    job.pause()
    again = flm.load_job(path, clock=clock)
    assert again.paused_by_migration
