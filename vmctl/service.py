"""Running a daemon: RPC server, heartbeats, periodic tasks and signals.

A daemon is built from small steps, started in order and stopped in reverse:
the manager's ``init_host``, the RPC server, the heartbeat, the periodic
tasks. SIGTERM stops the RPC server from taking new messages, waits (up to
``graceful_shutdown_timeout``) for those in flight, then exits; SIGHUP
re-reads the mutable options.
"""

import logging
import signal
import threading

from vmctl import rpc
from vmctl import version

LOG = logging.getLogger(__name__)


class PeriodicTask:
    """Runs ``fn`` every ``interval`` seconds on its own thread until stopped."""

    def __init__(self, name, interval, fn, initial_delay=0.0):
        self.name = name
        self.interval = interval
        self.fn = fn
        self.initial_delay = initial_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()

    def join(self, timeout=None):
        self._thread.join(timeout)

    def _interval(self):
        return self.interval() if callable(self.interval) else self.interval

    def _run(self):
        if self._stop.wait(self._interval() if self.initial_delay is None else self.initial_delay):
            return
        while not self._stop.is_set():
            try:
                self.fn()
            except Exception:  # a periodic task must never kill its thread
                LOG.exception("Periodic task %s failed", self.name)
            if self._stop.wait(self._interval()):
                return


class Service:
    """One daemon: a manager behind an RPC server on ``topic``."""

    def __init__(self, conf, binary, topic, manager, transport, server=None):
        self.conf = conf
        self.binary = binary
        self.topic = topic
        self.manager = manager
        self.transport = transport
        self.server_name = server or conf.host
        self.rpcserver = None
        self.tasks = []
        self._stopped = threading.Event()

    def start(self):
        LOG.info("Starting %s %s on %s (topic %s)", self.binary,
                 version.VERSION, self.conf.host, self.topic)
        self.manager.init_host()
        self.rpcserver = rpc.get_server(self.transport, self.topic,
                                        self.server_name, [self.manager])
        self.rpcserver.start()
        self.tasks = [PeriodicTask("heartbeat", self.conf.report_interval,
                                   self.manager.report_state)]
        for name, interval, fn in self.manager.periodic_tasks():
            self.tasks.append(PeriodicTask(name, interval, fn, initial_delay=None))
        for task in self.tasks:
            task.start()
        self.manager.after_start()

    def stop(self):
        """Stop taking work, drain what is in flight, stop the tasks."""
        if self._stopped.is_set():
            return
        LOG.info("Stopping %s: draining in-flight requests", self.binary)
        for task in self.tasks:
            task.stop()
        if self.rpcserver is not None:
            self.rpcserver.stop()
            drain = threading.Thread(target=self.rpcserver.wait, daemon=True)
            drain.start()
            drain.join(self.conf.graceful_shutdown_timeout or None)
            if drain.is_alive():
                LOG.warning("Gave up waiting for in-flight requests after %ss",
                            self.conf.graceful_shutdown_timeout)
        self.manager.cleanup()
        self._stopped.set()

    def wait(self):
        self._stopped.wait()


def run_until_signalled(conf, start, stop):
    """Call ``start``, then block until SIGTERM/SIGINT and call ``stop``.

    SIGHUP reloads mutable options from the config files.
    """
    stop_requested = threading.Event()

    def on_term(signum, _frame):
        LOG.info("Caught %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    def on_hup(_signum, _frame):
        LOG.info("Caught SIGHUP, reloading mutable options")
        conf.mutate_config_files()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, on_hup)
    start()
    while not stop_requested.wait(1.0):
        pass
    stop()
