"""The monitor on a job adopted after an agent restart."""

from vmctl.compute.live_migration import monitor
from vmctl.virt import live_job


class AdoptedJob(live_job.LiveMigrationJob):
    """A job as an adoption finds it: maybe in post-copy, maybe paused."""

    status = "running"
    postcopy = False
    paused_by_migration = False
    set_max_downtime = start_postcopy = throttle = set_bandwidth = pause = abort = \
        lambda self, *args: None

    def __init__(self, **attrs):
        self.unpaused = []
        for name, value in attrs.items():
            setattr(self, name, value)

    def stats(self):
        return None

    def unpause(self):
        self.unpaused.append(True)


def _monitor(job):
    return monitor.Monitor(policy=None, facts=None, job=job, on_action=None,
                           on_progress=None)


def test_an_adopted_job_in_post_copy_is_never_aborted():
    assert _monitor(AdoptedJob(postcopy=True)).request_abort() is False


def test_a_job_before_post_copy_can_be_aborted():
    assert _monitor(AdoptedJob(postcopy=False)).request_abort() is True
    assert _monitor(AdoptedJob()).request_abort() is True


def test_a_guest_the_adopted_job_paused_is_unpaused_if_it_fails():
    job = AdoptedJob(paused_by_migration=True, status="cancelled")
    mon = monitor.Monitor(policy=None, facts=None, job=job, on_action=None,
                          on_progress=lambda stats: None)
    mon._loop = lambda: None   # the job already ended
    assert mon.run() == ("cancelled", None)
    assert job.unpaused == [True]
