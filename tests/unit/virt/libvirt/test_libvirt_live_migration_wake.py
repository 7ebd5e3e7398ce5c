"""The libvirt job handles tell the monitor when they (may have) ended."""

import threading

from vmctl.virt.libvirt import host as host_mod
from vmctl.virt.libvirt import live_job as lm


class Dom:
    def __init__(self, uuid="u1", gate=None, error=None):
        self.uuid = uuid
        self.gate = gate
        self.error = error

    def UUIDString(self):
        return self.uuid

    def migrateToURI3(self, dconnuri, params, flags):
        if self.gate is not None:
            assert self.gate.wait(30)
        if self.error is not None:
            raise self.error


class Conn:
    def __init__(self, dom):
        self.dom = dom

    def lookupByUUIDString(self, uuid):
        return self.dom

    def close(self):
        pass


def _job(dom):
    return lm.LibvirtMigrationJob(lambda: Conn(dom), dom.uuid, "qemu+tcp://h2/system",
                                  {}, 0, lambda: None)


def test_the_migrate_thread_returning_wakes_the_listener():
    gate = threading.Event()
    job = _job(Dom(gate=gate))
    woken = threading.Event()
    job.notify_on_end(woken.set)
    assert not woken.is_set()              # still running: no wake-up yet
    worker = threading.Thread(target=job._migrate, daemon=True)
    worker.start()
    assert not woken.wait(0.05)
    gate.set()
    assert woken.wait(30)
    assert job.status == "completed"


def test_a_failed_migration_wakes_the_listener_too():
    job = _job(Dom(error=RuntimeError("boom")))
    woken = []
    job.notify_on_end(lambda: woken.append(job.status))
    job._migrate()
    assert woken == ["failed"]


def test_a_listener_added_after_the_end_is_called_at_once():
    job = _job(Dom())
    job._migrate()
    woken = []
    job.notify_on_end(lambda: woken.append(True))
    assert woken == [True]


def test_a_failing_listener_does_not_stop_the_others():
    job = _job(Dom())
    woken = []
    job.notify_on_end(lambda: 1 / 0)
    job.notify_on_end(lambda: woken.append(True))
    job._migrate()
    assert woken == [True] and job.status == "completed"


def test_an_adopted_job_wakes_on_its_domain_events_until_settled():
    host = host_mod.Host("test:///x")
    job = lm.AdoptedMigrationJob(lambda: None, {"uuid": "m1"}).watch(
        host.watch_domain, "u1")
    woken = []
    job.notify_on_end(lambda: woken.append(True))
    host._on_lifecycle(None, Dom("u2"), host_mod.EVENT_SUSPENDED, 0, None)
    assert woken == []                      # another domain's event
    host._on_lifecycle(None, Dom("u1"), host_mod.EVENT_STOPPED,
                       host_mod.STOPPED_MIGRATED, None)
    assert woken == [True]
    assert job.status == "completed"        # lookup() -> None: gone from this host
    assert host._watchers == {}             # settled: no longer watched
    host._on_lifecycle(None, Dom("u1"), host_mod.EVENT_UNDEFINED, 0, None)
    assert woken == [True]


def test_host_watchers_are_called_and_removed():
    host = host_mod.Host("test:///x")
    seen = []
    unwatch = host.watch_domain("u1", lambda event, detail: seen.append((event, detail)))
    host.watch_domain("u1", lambda *_: 1 / 0)  # logged, does not stop the others
    host._on_lifecycle(None, Dom("u1"), host_mod.EVENT_RESUMED, 1, None)
    unwatch()
    host._on_lifecycle(None, Dom("u1"), host_mod.EVENT_RESUMED, 0, None)
    assert seen == [(host_mod.EVENT_RESUMED, 1)]
    assert host._events.qsize() == 2        # power states still queued as before
