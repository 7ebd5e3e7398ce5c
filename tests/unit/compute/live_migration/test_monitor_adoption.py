"""The monitor on a job adopted after an agent restart."""

import types

from vmctl.compute.live_migration import monitor


def _monitor(job):
    return monitor.Monitor(policy=None, facts=None, job=job, on_action=None,
                           on_progress=None)


def test_an_adopted_job_in_post_copy_is_never_aborted():
    assert _monitor(types.SimpleNamespace(postcopy=True)).request_abort() is False


def test_a_job_before_post_copy_can_be_aborted():
    assert _monitor(types.SimpleNamespace(postcopy=False)).request_abort() is True
    assert _monitor(types.SimpleNamespace()).request_abort() is True


def test_a_guest_the_adopted_job_paused_is_unpaused_if_it_fails():
    unpaused = []
    job = types.SimpleNamespace(paused_by_migration=True, status="cancelled", reason=None,
                                stats=lambda: None, unpause=lambda: unpaused.append(True))
    mon = monitor.Monitor(policy=None, facts=None, job=job, on_action=None,
                          on_progress=lambda stats: None)
    mon._loop = lambda: None   # the job already ended
    assert mon.run() == ("cancelled", None)
    assert unpaused == [True]
