"""The monitor's wait ends when the job says it ended, not at the next poll."""

import threading

from vmctl.compute.live_migration import config as policy_config
from vmctl.compute.live_migration import monitor
from vmctl.compute.live_migration import policies
from vmctl.virt import live_job


class EndingJob(live_job.LiveMigrationJob):
    """Running until end() (from another thread), which wakes its listeners."""

    status = "running"
    # The control calls this test does not exercise.
    set_max_downtime = start_postcopy = throttle = set_bandwidth = pause = unpause = \
        abort = lambda self, *args: None

    def __init__(self, on_first_poll=None):
        self.status = "running"
        self.reason = None
        self.polls = 0
        self.listeners = []
        self.on_first_poll = on_first_poll

    def notify_on_end(self, fn):
        self.listeners.append(fn)

    def stats(self):
        self.polls += 1
        if self.polls == 1 and self.on_first_poll:
            self.on_first_poll(self)
        return live_job.JobStats(memory_total=128 << 20, memory_remaining=64 << 20)

    def end(self):
        self.status = "completed"
        for fn in self.listeners:
            fn()


def _monitor(job, poll_interval):
    policy = policy_config.MigrationPolicy()
    facts = policies.MigrationFacts(memory_bytes=128 << 20)
    return monitor.Monitor(policy, facts, job, on_action=lambda a, s: None,
                           on_progress=lambda s: None, poll_interval=poll_interval)


def _run_in_thread(mon):
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", mon.run()),
                              daemon=True)
    worker.start()
    worker.join(60)
    return worker.is_alive(), box.get("result")


def test_the_end_of_the_job_cuts_the_wait_short(monkeypatch):
    # Every wait would be 1000 s: only the job's end notification can end it.
    monkeypatch.setattr(monitor, "FIRST_POLL_S", 1000.0)
    job = EndingJob(on_first_poll=lambda j: threading.Timer(0.05, j.end).start())
    stuck, result = _run_in_thread(_monitor(job, poll_interval=1000.0))
    assert not stuck
    assert result == ("completed", None)
    assert len(job.listeners) == 1


def test_a_job_that_ended_before_the_first_wait_is_not_waited_for(monkeypatch):
    monkeypatch.setattr(monitor, "FIRST_POLL_S", 1000.0)
    job = EndingJob(on_first_poll=lambda j: j.end())
    stuck, result = _run_in_thread(_monitor(job, poll_interval=1000.0))
    assert not stuck
    assert result == ("completed", None)
    assert job.polls == 2                   # the one poll, then the final progress


def test_a_job_without_notify_on_end_is_polled_as_before():
    class Plain(live_job.LiveMigrationJob):
        status = "completed"
        set_max_downtime = start_postcopy = throttle = set_bandwidth = pause = \
            unpause = abort = lambda self, *args: None

        def stats(self):
            return live_job.JobStats()
    mon = _monitor(Plain(), poll_interval=0.5)
    assert mon.run() == ("completed", None)


def test_next_wait_grows_from_the_first_poll_to_the_poll_interval():
    waits = [monitor.next_wait(0.5, polls) for polls in range(7)]
    assert waits == [0.025, 0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    assert monitor.next_wait(0.05, 0) == 0.025
    assert monitor.next_wait(0.01, 3) == 0.01
