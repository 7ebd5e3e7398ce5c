"""The source's flow on an unexpected failure: the destination is rolled
back only while nothing but its preparation happened."""

import threading
import types

import pytest

from vmctl import migration_states as ms
from vmctl.compute.live_migration import source


class Recorder:
    def __init__(self, fail_on=None):
        self.calls = []
        self.fail_on = fail_on

    def migration_update(self, ctx, uuid, status=None, progress=None, event=None):
        self.calls.append(("update", status))
        if status == self.fail_on:
            raise RuntimeError("the conductor went away")
        return True

    def live_migration_finished(self, ctx, uuid, status, reason, progress=None):
        self.calls.append(("finished", status))

    def pre_live_migration(self, ctx, host, instance, migration, timeout):
        self.calls.append(("pre_live_migration", host))
        return {"ok": True, "info": {}}

    def rollback_live_migration_at_destination(self, ctx, host, instance, migration):
        self.calls.append(("rollback", host))


def _run(conductor, driver):
    compute = conductor
    deps = types.SimpleNamespace(
        conf=types.SimpleNamespace(host="compute1", migration=types.SimpleNamespace(
            pre_live_migration_timeout=5)),
        driver=driver, conductor=conductor, compute=compute)
    migration = types.SimpleNamespace(uuid="m-1", dest_compute="compute2",
                                      block_migration=False)
    run = source.SourceRun(None, types.SimpleNamespace(uuid="i-1"), migration, deps,
                           threading.BoundedSemaphore(1))
    run._policy = lambda: None
    run.run()
    return conductor.calls


def test_a_failure_after_preparing_rolls_the_destination_back():
    calls = _run(Recorder(fail_on=ms.RUNNING), driver=None)
    assert calls[-2:] == [("rollback", "compute2"), ("finished", ms.ERROR)]


@pytest.mark.parametrize("fail_on", [ms.PREPARING])
def test_a_failure_before_preparing_leaves_the_destination_alone(fail_on):
    calls = _run(Recorder(fail_on=fail_on), driver=None)
    assert ("rollback", "compute2") not in calls
    assert calls[-1] == ("finished", ms.ERROR)


def test_a_failure_once_the_job_was_asked_for_does_not_roll_back():
    def start(*args):
        raise RuntimeError("the hypervisor connection broke")

    calls = _run(Recorder(), driver=types.SimpleNamespace(live_migration_start=start))
    assert ("rollback", "compute2") not in calls
    assert calls[-1] == ("finished", ms.ERROR)
