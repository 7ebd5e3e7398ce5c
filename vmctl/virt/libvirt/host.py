"""The libvirt connection of one compute host, and its event loop.

``Host`` owns the single (thread-safe) virConnect of the agent, opens it
lazily, reopens it after libvirtd went away, and forwards domain lifecycle
events as ``(uuid, power_state)`` to a handler. libvirt's event loop runs in
one daemon thread (``virEventRunDefaultImpl``); handlers are called from a
second daemon thread fed by a queue, so a slow handler never stalls libvirt's
keepalives. ``watch_domain(uuid, fn)`` also calls ``fn(event, detail)`` on
every lifecycle event of one domain, straight from the event loop thread (so
fn must be quick: the migration monitor's wake-up sets an Event).

libvirt-python is imported lazily; the pure helpers (error classification,
event mapping) need no libvirt.
"""

import fcntl
import logging
import os
import queue
import socket
import struct
import threading
import time

from vmctl import instance_states as states
from vmctl.virt.libvirt import guest as libvirt_guest

LOG = logging.getLogger(__name__)

DEFAULT_URI = "qemu:///system"

# virErrorNumber / virErrorDomain values (stable libvirt ABI).
VIR_ERR_INTERNAL_ERROR = 1
VIR_ERR_NO_CONNECT = 5
VIR_ERR_INVALID_CONN = 6
VIR_ERR_SYSTEM_ERROR = 38
VIR_ERR_RPC = 39
VIR_ERR_NO_DOMAIN = 42
VIR_FROM_RPC = 7
VIR_FROM_REMOTE = 13

_LOST_MESSAGES = ("client socket is closed", "connection is closed",
                  "broken pipe", "end of file while reading",
                  "cannot recv data", "cannot send data", "connection reset")


def is_connection_lost(code, domain, message):
    """True when a libvirt error means the connection to libvirtd is gone."""
    message = (message or "").lower()
    if code in (VIR_ERR_NO_CONNECT, VIR_ERR_INVALID_CONN):
        return True
    if code == VIR_ERR_SYSTEM_ERROR and domain in (VIR_FROM_REMOTE, VIR_FROM_RPC):
        return True
    if code in (VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_ERR_RPC):
        return any(text in message for text in _LOST_MESSAGES)
    return False


def error_is_connection_lost(exc):
    """is_connection_lost() for a libvirt.libvirtError."""
    get = getattr(exc, "get_error_code", None)
    if get is None:
        return False
    return is_connection_lost(exc.get_error_code(), exc.get_error_domain(),
                              exc.get_error_message())


# virDomainEventType and the details used (stable libvirt ABI).
EVENT_DEFINED, EVENT_UNDEFINED, EVENT_STARTED, EVENT_SUSPENDED = 0, 1, 2, 3
EVENT_RESUMED, EVENT_STOPPED, EVENT_SHUTDOWN, EVENT_PMSUSPENDED = 4, 5, 6, 7
EVENT_CRASHED = 8
STOPPED_CRASHED, STOPPED_MIGRATED, STOPPED_SAVED = 2, 3, 4
RESUMED_MIGRATED = 1

# Lifecycle event -> the power_state the domain is now in (None: not a
# power state change worth reporting).
_EVENT_POWER_STATES = {
    EVENT_STARTED: states.RUNNING,
    EVENT_RESUMED: states.RUNNING,
    EVENT_SUSPENDED: states.POWER_PAUSED,   # also the pause of a migration
    EVENT_STOPPED: states.SHUTDOWN,
    EVENT_PMSUSPENDED: states.POWER_SUSPENDED,
    EVENT_CRASHED: states.CRASHED,
}


def lifecycle_power_state(event, detail):
    """power_state a lifecycle event leaves the domain in, or None."""
    if event == EVENT_STOPPED:
        if detail == STOPPED_SAVED:
            return states.POWER_SUSPENDED          # managed save
        if detail == STOPPED_MIGRATED:
            return None                            # it now runs elsewhere
        if detail == STOPPED_CRASHED:
            return states.CRASHED
    return _EVENT_POWER_STATES.get(event)


def _libvirt():
    import libvirt
    return libvirt


_event_loop_lock = threading.Lock()
_event_loop_started = False


def start_event_loop():
    """Register libvirt's default event loop and run it, once per process.

    Must happen before a connection is opened for its events and keepalives
    to work.
    """
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt = _libvirt()
        # Errors reach us as exceptions; do not also print them to stderr.
        libvirt.registerErrorHandler(lambda ctx, err: None, None)
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                try:
                    libvirt.virEventRunDefaultImpl()
                except Exception:
                    LOG.exception("libvirt event loop iteration failed")
                    time.sleep(1)
        threading.Thread(target=run, name="libvirt-event-loop", daemon=True).start()
        _event_loop_started = True


class HostError(Exception):
    """The hypervisor cannot be reached or used; the message says why."""


class Host:
    def __init__(self, uri=None, keepalive_interval=5, keepalive_count=3,
                 reconnect_max_delay=30):
        self.uri = uri or DEFAULT_URI
        self._conn = None
        self._conn_lock = threading.RLock()
        self._keepalive = (keepalive_interval, keepalive_count)
        self._reconnect_max_delay = reconnect_max_delay
        self._event_handler = None
        self._events = queue.Queue()
        self._last_states = {}      # uuid -> last power_state delivered
        self._dispatcher = None
        self._watchers = {}         # uuid -> [fn(event, detail)] of watch_domain
        self._watchers_lock = threading.Lock()

    # --- connection ----------------------------------------------------------
    def get_connection(self):
        """The open connection, reopened when libvirtd closed it."""
        with self._conn_lock:
            conn = self._conn
            if conn is not None:
                try:
                    if conn.isAlive():
                        return conn
                except Exception:
                    pass
                LOG.warning("Connection to %s is closed; reconnecting", self.uri)
                self._forget(conn)
            self._conn = self._connect()
            return self._conn

    def invalidate(self, conn=None):
        """Drop the connection (after an error said it is lost)."""
        with self._conn_lock:
            if conn is None or conn is self._conn:
                self._forget(self._conn)

    def _forget(self, conn):
        self._conn = None
        if conn is None:
            return
        try:
            conn.unregisterCloseCallback()
        except Exception:
            pass
        try:
            conn.close()
        except Exception:
            pass

    def _connect(self):
        libvirt = _libvirt()
        start_event_loop()
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            raise HostError("cannot connect to the hypervisor at %s: %s"
                            % (self.uri, exc.get_error_message())) from exc
        try:
            conn.setKeepAlive(*self._keepalive)
        except libvirt.libvirtError as exc:
            LOG.warning("No keepalive on %s: %s", self.uri, exc)
        conn.registerCloseCallback(self._on_close, None)
        if self._event_handler is not None:
            self._last_states.clear()     # events may have been missed
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                        self._on_lifecycle, None)
        LOG.info("Connected to %s", self.uri)
        return conn

    def open_private_connection(self):
        """A new connection of its own to this host's libvirtd (the caller
        closes it): for a call that blocks for long, such as migrateToURI3,
        which must not hold up the agent's connection."""
        libvirt = _libvirt()
        start_event_loop()
        conn = libvirt.open(self.uri)
        try:
            conn.setKeepAlive(*self._keepalive)
        except libvirt.libvirtError as exc:
            LOG.warning("No keepalive on the private connection to %s: %s", self.uri, exc)
        return conn

    def _on_close(self, conn, reason, opaque):
        LOG.warning("libvirt closed the connection to %s (reason %s)", self.uri, reason)
        # Called from the event loop thread: do not block on _conn_lock here.
        self._events.put(("closed", conn))

    def call(self, fn, retry=True):
        """fn(conn); on a lost connection reconnect and (if retry) run it again.

        Only for calls that are safe to repeat (lookups, reads).
        """
        conn = self.get_connection()
        try:
            return fn(conn)
        except Exception as exc:
            if not error_is_connection_lost(exc):
                raise
            self.invalidate(conn)
            if not retry:
                raise
            LOG.warning("Lost the connection to %s (%s); retrying once", self.uri, exc)
            return fn(self.get_connection())

    # --- events --------------------------------------------------------------
    def set_event_handler(self, handler):
        """Forward lifecycle events as handler(uuid, power_state)."""
        first = self._event_handler is None
        self._event_handler = handler
        if not first:
            return
        if self._dispatcher is None:
            self._dispatcher = threading.Thread(target=self._dispatch_events,
                                                name="libvirt-event-dispatch", daemon=True)
            self._dispatcher.start()
        with self._conn_lock:
            if self._conn is not None:
                self._conn.domainEventRegisterAny(
                    None, _libvirt().VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None)

    def watch_domain(self, uuid, fn):
        """Call ``fn(event, detail)`` on each lifecycle event of domain
        ``uuid`` (from the event loop thread: fn must be quick). Returns the
        function that stops it. Needs the event handler to be set (the agent
        always sets it)."""
        with self._watchers_lock:
            self._watchers.setdefault(uuid, []).append(fn)

        def unwatch():
            with self._watchers_lock:
                found = self._watchers.get(uuid, [])
                if fn in found:
                    found.remove(fn)
                if not found:
                    self._watchers.pop(uuid, None)
        return unwatch

    def _on_lifecycle(self, conn, dom, event, detail, opaque):
        uuid = dom.UUIDString()
        with self._watchers_lock:
            watchers = list(self._watchers.get(uuid, ()))
        for fn in watchers:
            try:
                fn(event, detail)
            except Exception:
                LOG.exception("Domain watcher failed for %s", uuid)
        power_state = lifecycle_power_state(event, detail)
        if power_state is not None:
            self._events.put(("lifecycle", (uuid, power_state)))

    def _dispatch_events(self):
        delay = 1
        while True:
            try:
                kind, payload = self._events.get(timeout=delay)
            except queue.Empty:
                kind, payload = "check", None
            if kind == "lifecycle":
                self._deliver(*payload)
                continue
            if kind == "closed":
                self.invalidate(payload)
            # Reconnect now (not on the next request) so events keep flowing.
            try:
                self.get_connection()
                delay = 5
            except Exception as exc:
                LOG.warning("Reconnecting to %s failed: %s", self.uri, exc)
                delay = min(max(delay, 1) * 2, self._reconnect_max_delay)

    def _deliver(self, uuid, power_state):
        handler = self._event_handler
        if handler is None:
            return
        # Starting a domain emits STARTED then RESUMED: report a state once.
        if self._last_states.get(uuid) == power_state:
            return
        self._last_states[uuid] = power_state
        try:
            handler(uuid, power_state)
        except Exception:
            LOG.exception("Lifecycle event handler failed for %s", uuid)

    # --- domains -------------------------------------------------------------
    def lookup(self, uuid):
        """The Guest with this uuid, or None."""
        libvirt = _libvirt()

        def find(conn):
            try:
                return libvirt_guest.Guest(conn.lookupByUUIDString(uuid))
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                raise
        return self.call(find)

    def list_guests(self):
        return self.call(lambda conn: [libvirt_guest.Guest(d) for d in conn.listAllDomains(0)])

    def define(self, xml):
        return libvirt_guest.Guest(self.get_connection().defineXML(xml))

    # --- host facts ----------------------------------------------------------
    def get_info(self):
        """virNodeGetInfo: [model, memory MiB, cpus, MHz, nodes, sockets, cores, threads]."""
        return self.call(lambda conn: conn.getInfo())

    def get_version(self):
        return self.call(lambda conn: conn.getVersion())

    def get_capabilities(self):
        return self.call(lambda conn: conn.getCapabilities())

    def get_domain_capabilities(self, virt_type):
        return self.call(lambda conn: conn.getDomainCapabilities(None, None, None, virt_type, 0))


def kvm_problem(get_domain_capabilities, local=True, dev_kvm="/dev/kvm",
                sys_module="/sys/module"):
    """Why this host cannot run KVM guests, or None when it can.

    ``get_domain_capabilities()`` asks libvirt for the 'kvm' domain type's
    capabilities and raises when libvirt has none. ``local``: libvirtd runs
    on this machine, so its /dev/kvm can be inspected too.
    """
    if local:
        problem = _kvm_device_problem(dev_kvm, sys_module)
        if problem:
            return problem
    try:
        get_domain_capabilities()
    except Exception as exc:
        get_message = getattr(exc, "get_error_message", None)
        message = get_message() if get_message else str(exc)
        return "libvirt cannot create 'kvm' domains: %s" % message
    return None


def _kvm_device_problem(dev_kvm, sys_module):
    if not os.path.exists(dev_kvm):
        return "%s does not exist (no hardware virtualisation)" % dev_kvm
    if not os.access(dev_kvm, os.R_OK | os.W_OK):
        return "%s is not readable and writable by this process" % dev_kvm
    if os.path.exists(os.path.join(sys_module, "kvm_pvm")):
        return ("%s is provided by kvm_pvm, which only runs PVM guest kernels"
                % dev_kvm)
    return None


def first_non_loopback_ipv4():
    """The first IPv4 address of a non-loopback interface (or 127.0.0.1)."""
    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _index, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(sock.fileno(), siocgifaddr,
                                     struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                return address
    return "127.0.0.1"


def host_address(libvirt_conf):
    """The address other hosts reach this one at: [libvirt] host_ip or the
    first non-loopback IPv4 address."""
    return libvirt_conf.host_ip or first_non_loopback_ipv4()
