"""Which instances this compute agent is working on, one operation each.

Shared by the manager's endpoints and the move agents (cold migration,
live migration's source and destination sides): every operation on an
instance runs under ``working_on`` (one at a time per instance, within a
bounded pool of workers); the conductor's healing asks ``is_busy``; a move
that brings a guest back to this host ``wait_idle``s until the clean-up of
its last departure has ended.
"""

import collections
import contextlib
import logging
import threading

LOG = logging.getLogger(__name__)


class WorkTracker:
    def __init__(self, worker_threads, idle_wait_s):
        """``idle_wait_s``: how long ``wait_idle`` waits by default."""
        self.idle_wait_s = idle_wait_s
        self._locks = collections.defaultdict(threading.Lock)
        self._guard = threading.Lock()
        self._workers = threading.BoundedSemaphore(worker_threads)
        self._busy = collections.Counter()

    def is_busy(self, uuid):
        """Whether an operation on the instance waits or runs here."""
        with self._guard:
            return uuid in self._busy

    def wait_idle(self, uuid, timeout=None):
        """Wait (bounded) for this agent's work on an instance to end: a guest
        that just left this host may still be cleaned up here when a new move
        brings it back."""
        timeout = self.idle_wait_s if timeout is None else timeout
        lock = self._lock_for(uuid)
        if lock.acquire(timeout=timeout):
            lock.release()
        else:
            LOG.warning("Instance %s is still busy here after %ss", uuid, timeout)

    @contextlib.contextmanager
    def working_on(self, uuid):
        """One operation on an instance at a time; counted while it waits or runs."""
        self.hold(uuid)
        try:
            with self._workers, self._lock_for(uuid):
                yield
        finally:
            self.release(uuid)

    def hold(self, uuid):
        """Count the instance busy before its work starts (a thread about to
        run it); every ``hold`` is paired with a ``release``."""
        with self._guard:
            self._busy[uuid] += 1

    def release(self, uuid):
        with self._guard:
            self._busy[uuid] -= 1
            if not self._busy[uuid]:
                del self._busy[uuid]

    def forget(self, uuid):
        """The instance is gone from this host: drop its lock."""
        with self._guard:
            self._locks.pop(uuid, None)

    def _lock_for(self, uuid):
        with self._guard:
            return self._locks[uuid]
