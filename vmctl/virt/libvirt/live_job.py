"""Live migration on libvirt: flags, parameters and the job handles.

The migration monitor drives a ``vmctl.virt.live_job.LiveMigrationJob``
(status, statistics, the control calls). Here that job is a libvirt
peer-to-peer migration (shared/KVM-LAB.md, doc/kvm-lab.md):

- ``LibvirtMigrationJob`` runs the blocking ``migrateToURI3`` in its own
  thread on **its own** libvirt connection to the source (statistics and
  control calls go through the agent's connection: jobStats() on the
  migrating connection once hung for 10+ minutes). The thread records the
  outcome: completed; cancelled when the job was aborted
  (VIR_ERR_OPERATION_ABORTED, or any failure after abort()); failed with
  libvirt's message otherwise.
- ``AdoptedMigrationJob`` is a job found running in QEMU after an agent
  restart (the migrateToURI3 caller is gone, the p2p job lives on in
  libvirtd). Its status comes from the domain: job still active ->
  running; domain gone from this host (UNDEFINE_SOURCE) -> completed;
  domain here without a job -> failed (cancelled if we aborted it).

End notification (``notify_on_end(fn)``, the monitor's wake-up): a
``LibvirtMigrationJob`` calls ``fn`` when its migrate thread returns, i.e.
the moment its status stops being running; an ``AdoptedMigrationJob``
calls it on each lifecycle event of its domain on this host (the
suspend / stop of the switch-over, the undefine that follows), after which
the monitor reads the status at once instead of at its next poll.

Every libvirt call the monitor makes is bounded (``call_timeout``): a
call that does not return raises ``JobCallTimeout``, and the monitor then
aborts the job.

Post-copy is known from having called migrateStartPostCopy or from the
domain's state (paused with reason POSTCOPY / POSTCOPY_FAILED on the
source), which also covers an adopted job.

Auto-converge: libvirt only sets it when the job starts. With
``policy.permit_auto_converge`` the job starts with VIR_MIGRATE_AUTO_CONVERGE
and the policy's initial throttle and increment; QEMU then throttles on its
own schedule (reported as ``auto_converge_throttle``). ``throttle(percent)``
is a logged no-op: QEMU has no runtime "set the throttle to N %" (its
``cpu-throttle-percentage`` is read-only, in query-migrate) and
qemuMonitorCommand would taint the domain.
"""

import dataclasses
import logging
import threading
import time

from vmctl.virt import driver
from vmctl.virt import live_job

LOG = logging.getLogger(__name__)

# virDomainMigrateFlags (stable libvirt ABI; no libvirt needed for the pure parts).
VIR_MIGRATE_LIVE = 1
VIR_MIGRATE_PEER2PEER = 2
VIR_MIGRATE_PERSIST_DEST = 8
VIR_MIGRATE_UNDEFINE_SOURCE = 16
VIR_MIGRATE_NON_SHARED_INC = 128
VIR_MIGRATE_UNSAFE = 512
VIR_MIGRATE_AUTO_CONVERGE = 8192
VIR_MIGRATE_POSTCOPY = 32768
# Typed parameters of migrateToURI3.
PARAM_URI = "migrate_uri"
PARAM_BANDWIDTH = "bandwidth"                     # MiB/s
PARAM_DEST_XML = "destination_xml"
PARAM_PERSIST_XML = "persistent_xml"
PARAM_AUTO_CONVERGE_INITIAL = "auto_converge.initial"
PARAM_AUTO_CONVERGE_INCREMENT = "auto_converge.increment"
# Errors, states, job types.
VIR_ERR_NO_DOMAIN = 42
VIR_ERR_OPERATION_INVALID = 55
VIR_ERR_OPERATION_ABORTED = 78
VIR_DOMAIN_RUNNING = 1
VIR_DOMAIN_PAUSED = 3
VIR_DOMAIN_SHUTOFF = 5
VIR_DOMAIN_PAUSED_POSTCOPY = 12
VIR_DOMAIN_PAUSED_POSTCOPY_FAILED = 13
VIR_DOMAIN_SHUTOFF_MIGRATED = 5
# How long an adopted job waits for a shut-off source domain to be undefined.
SHUTOFF_GRACE_S = 20.0
VIR_DOMAIN_XML_INACTIVE = 2
VIR_DOMAIN_XML_MIGRATABLE = 8
JOB_OPERATION_MIGRATION_OUT = 5
ACTIVE_JOB_TYPES = (live_job.JOB_BOUNDED, live_job.JOB_UNBOUNDED)

CALL_TIMEOUT = 30.0        # s: one jobStats / control call
START_TIMEOUT = 60.0       # s: migrateToURI3 called -> the job is visible


class JobCallTimeout(driver.VirtError):
    """A libvirt call about the job did not return in time."""


# --- pure parts ---------------------------------------------------------------------
def migration_flags(policy, block_migration, shared_storage):
    """The virDomainMigrateFlags of a migration.

    Always live, peer-to-peer (the source daemon talks to the destination's),
    persistent on the destination and undefined here. Shared storage that
    vmctl verified itself (the storage marker) gets UNSAFE: libvirt only
    trusts cluster/network file systems, not e.g. one ext4 both hosts see.
    Block migration copies the top overlay only (NON_SHARED_INC; the
    destination pre-creates it on its own copy of the base image).
    """
    flags = (VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST
             | VIR_MIGRATE_UNDEFINE_SOURCE)
    if block_migration:
        flags |= VIR_MIGRATE_NON_SHARED_INC
    elif shared_storage:
        flags |= VIR_MIGRATE_UNSAFE
    if policy.permit_post_copy:
        flags |= VIR_MIGRATE_POSTCOPY
    if policy.permit_auto_converge:
        flags |= VIR_MIGRATE_AUTO_CONVERGE
    return flags


def migration_params(dest_info, policy, dest_xml=None, persist_xml=None):
    """The typed parameters of migrateToURI3 (``dest_xml`` / ``persist_xml``:
    the live / persistent definitions for the destination, see ``paths``)."""
    params = {}
    if dest_info.get("migrate_uri"):
        params[PARAM_URI] = dest_info["migrate_uri"]
    if policy.bandwidth_mib:
        params[PARAM_BANDWIDTH] = int(policy.bandwidth_mib)
    if policy.permit_auto_converge:
        params[PARAM_AUTO_CONVERGE_INITIAL] = int(policy.auto_converge_initial)
        params[PARAM_AUTO_CONVERGE_INCREMENT] = int(policy.auto_converge_increment)
    if dest_xml:
        params[PARAM_DEST_XML] = dest_xml
    if persist_xml:
        params[PARAM_PERSIST_XML] = persist_xml
    return params


def _error_code(exc):
    get = getattr(exc, "get_error_code", None)
    return get() if get else None


def _message(exc):
    get = getattr(exc, "get_error_message", None)
    return (get() if get else None) or str(exc)


def outcome_of(exc, abort_requested):
    """(status, reason) of a migrateToURI3 call that ended with ``exc``."""
    if _error_code(exc) == VIR_ERR_OPERATION_ABORTED or abort_requested:
        return "cancelled", "the migration was aborted: %s" % _message(exc)
    return "failed", "libvirt: %s" % _message(exc)


def _bounded(fn, timeout, what):
    """fn() in a helper thread; JobCallTimeout when it does not return in time."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
    worker = threading.Thread(target=run, name="libvirt-%s" % what, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise JobCallTimeout("libvirt did not answer %s within %ss" % (what, timeout))
    if "error" in box:
        raise box["error"]
    return box.get("value")


# --- the job handles -------------------------------------------------------------------
class _DomainJob(live_job.LiveMigrationJob):
    """What both job kinds share: statistics and control through ``lookup()``.

    ``lookup()`` returns the virDomain on the agent's connection, or None
    when this host no longer has it.
    """

    def __init__(self, lookup, flags=0, disk_sizes=(), call_timeout=CALL_TIMEOUT,
                 clock=time.monotonic):
        self._lookup = lookup
        self.flags = flags
        self._disk_sizes = tuple(disk_sizes)
        self.call_timeout = call_timeout
        self.clock = clock
        self.reason = None
        self._lock = threading.Lock()
        self._postcopy = False
        self._abort_requested = False
        self._last = live_job.JobStats()
        self.throttle_requests = []
        self._end_listeners = []

    def notify_on_end(self, fn):
        """Call ``fn()`` (quick, no arguments, any thread) when the job may
        have ended; at once if it already has."""
        with self._lock:
            self._end_listeners.append(fn)
        if self._ended():
            fn()

    def _ended(self):
        return self.status != "running"

    def _notify_end(self):
        with self._lock:
            listeners = list(self._end_listeners)
        for fn in listeners:
            try:
                fn()
            except Exception:
                LOG.exception("Migration end listener failed")

    # --- helpers ---
    def _call(self, what, fn):
        """fn(dom) bounded; None when the domain is gone from this host."""
        def run():
            dom = self._lookup()
            return None if dom is None else fn(dom)
        try:
            return _bounded(run, self.call_timeout, what)
        except JobCallTimeout:
            raise
        except Exception as exc:
            if _error_code(exc) == VIR_ERR_NO_DOMAIN:
                return None
            raise

    @property
    def postcopy(self):
        return self._postcopy

    def disk_sizes(self):
        return self._disk_sizes

    # --- the monitor's interface ---
    def stats(self):
        """One poll: JobStats of the running job (the last seen once it ended)."""
        def read(dom):
            return dom.jobStats(), dom.state()
        try:
            found = self._call("jobStats", read)
        except JobCallTimeout:
            raise
        except Exception as exc:
            if self.status != "running":
                return self._final_stats()
            if _error_code(exc) == VIR_ERR_OPERATION_INVALID:
                # "domain is not running": the source's QEMU stopped (the
                # switch-over, or post-copy's end); the job is finishing.
                return self._last
            raise
        if found is None:
            return self._final_stats()
        raw, (state, reason) = found
        if state == VIR_DOMAIN_PAUSED and reason in (VIR_DOMAIN_PAUSED_POSTCOPY,
                                                     VIR_DOMAIN_PAUSED_POSTCOPY_FAILED):
            self._postcopy = True
        if not raw or int(raw.get("type", 0)) not in ACTIVE_JOB_TYPES:
            return self._final_stats() if self.status != "running" else self._last
        self._last = live_job.JobStats.from_libvirt(raw, postcopy=self._postcopy)
        return self._last

    def _final_stats(self):
        job_type = {"completed": live_job.JOB_COMPLETED,
                    "cancelled": live_job.JOB_CANCELLED}.get(self.status,
                                                              live_job.JOB_FAILED)
        if self.status == "running":
            return self._last
        return dataclasses.replace(self._last, job_type=job_type, postcopy=self._postcopy)

    def set_max_downtime(self, ms):
        self._control("migrateSetMaxDowntime",
                      lambda dom: dom.migrateSetMaxDowntime(int(ms), 0))

    def start_postcopy(self):
        if not self.flags & VIR_MIGRATE_POSTCOPY:
            raise driver.VirtError("post-copy was not permitted when the migration started")
        self._control("migrateStartPostCopy", lambda dom: dom.migrateStartPostCopy(0))
        self._postcopy = True

    def throttle(self, percent):
        self.throttle_requests.append(percent)
        if not self.flags & VIR_MIGRATE_AUTO_CONVERGE:
            LOG.warning("Throttle to %s%% asked, but the migration runs without "
                        "auto-converge; ignored", percent)
            return
        LOG.info("Throttle to %s%% asked: QEMU's auto-converge throttles by itself "
                 "(libvirt sets it only at the start); no change", percent)

    def set_bandwidth(self, bytes_per_second):
        mib = max(1, int(bytes_per_second) >> 20)
        self._control("migrateSetMaxSpeed", lambda dom: dom.migrateSetMaxSpeed(mib, 0))

    def pause(self):
        self._control("suspend", lambda dom: dom.suspend())

    def unpause(self):
        def resume(dom):
            state, reason = dom.state()
            if state == VIR_DOMAIN_PAUSED and reason not in (
                    VIR_DOMAIN_PAUSED_POSTCOPY, VIR_DOMAIN_PAUSED_POSTCOPY_FAILED):
                dom.resume()
        self._control("resume", resume, quiet=True)

    def abort(self):
        if self._postcopy:
            raise driver.VirtError("a migration in post-copy cannot be aborted: the "
                                   "guest already runs on the destination")
        self._abort_requested = True
        self._control("abortJob", lambda dom: dom.abortJob())

    def _control(self, what, fn, quiet=False):
        """A control call; a job that ended meanwhile makes it a no-op."""
        try:
            self._call(what, fn)
        except JobCallTimeout:
            raise
        except Exception as exc:
            if self.status != "running" or _error_code(exc) == VIR_ERR_OPERATION_INVALID:
                LOG.info("%s skipped: the migration job is over (%s)", what, _message(exc))
                return
            if quiet:
                LOG.warning("%s failed: %s", what, _message(exc))
                return
            raise driver.VirtError("%s failed: %s" % (what, _message(exc))) from exc


class LibvirtMigrationJob(_DomainJob):
    """A migrateToURI3 we started, running in its own thread and connection.

    ``open_connection()`` returns a new virConnect to the source host (closed
    when the call returns); ``uuid`` names the domain.
    """

    def __init__(self, open_connection, uuid, dconnuri, params, flags, lookup, **kw):
        super().__init__(lookup, flags=flags, **kw)
        self._open = open_connection
        self.uuid = uuid
        self.dconnuri = dconnuri
        self.params = dict(params)
        self._status = "running"
        self._thread = None
        self.started_at = None
        self.ended_at = None

    @property
    def status(self):
        with self._lock:
            return self._status

    def _end(self, status, reason):
        with self._lock:
            self._status = status
            self.reason = reason
            self.ended_at = self.clock()
        log = LOG.info if status == "completed" else LOG.warning
        log("Migration of %s to %s: %s%s", self.uuid, self.dconnuri, status,
            " (%s)" % reason if reason else "")
        self._notify_end()

    def start(self, start_timeout=START_TIMEOUT, poll=0.05):
        """Start the thread; return once libvirt shows the job (or it ended)."""
        self.started_at = self.clock()
        self._thread = threading.Thread(target=self._migrate, daemon=True,
                                        name="migrate-%s" % self.uuid[:8])
        self._thread.start()
        deadline = self.clock() + start_timeout
        while self.status == "running" and not self._job_visible():
            if self.clock() >= deadline:
                LOG.warning("Migration job of %s not visible after %ss; aborting it",
                            self.uuid, start_timeout)
                try:
                    self.abort()
                except Exception as exc:
                    LOG.warning("Abort failed: %s", exc)
                break
            time.sleep(poll)
        return self

    def _job_visible(self):
        try:
            info = self._call("jobInfo", lambda dom: dom.jobInfo())
        except Exception as exc:
            LOG.debug("jobInfo failed: %s", exc)
            return False
        return bool(info) and info[0] in ACTIVE_JOB_TYPES

    def _migrate(self):
        conn = None
        try:
            conn = self._open()
            dom = conn.lookupByUUIDString(self.uuid)
            dom.migrateToURI3(self.dconnuri, self.params, self.flags)
        except Exception as exc:
            self._end(*outcome_of(exc, self._abort_requested))
        else:
            self._end("completed", None)
        finally:
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass

    def join(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)


class AdoptedMigrationJob(_DomainJob):
    """An outgoing job found in libvirt after an agent restart.

    ``migration``: the record the starting agent left (see
    ``live_migration.MIGRATION_RECORD``): migration uuid, destination, ...
    """

    def __init__(self, lookup, migration, **kw):
        super().__init__(lookup, **kw)
        self.migration = migration
        self._final = None
        self._shutoff_since = None
        self._unwatch = None

    def watch(self, watch_domain, uuid):
        """Wake the monitor on the domain's lifecycle events:
        ``watch_domain(uuid, fn)`` (``Host.watch_domain``) returns the
        function that stops it, called once the job's end is settled."""
        self._unwatch = watch_domain(uuid, lambda _event, _detail: self._notify_end())
        return self

    def _ended(self):
        return self._final is not None

    @property
    def status(self):
        if self._final is not None:
            return self._final

        def read(dom):
            # State first: once the switch-over stopped the source's QEMU,
            # jobInfo() fails with "domain is not running" (the domain is
            # still defined, shut off, for a moment).
            state = dom.state()
            if state[0] == VIR_DOMAIN_SHUTOFF:
                return None, state
            try:
                return dom.jobInfo(), state
            except Exception as exc:
                if _error_code(exc) != VIR_ERR_OPERATION_INVALID:
                    raise
                return None, dom.state()
        found = self._call("jobInfo", read)
        if found is None:
            return self._settle("completed", None)
        info, (state, reason) = found
        if info and info[0] in ACTIVE_JOB_TYPES:
            return "running"
        if state == VIR_DOMAIN_SHUTOFF and reason == VIR_DOMAIN_SHUTOFF_MIGRATED:
            return self._settle("completed", None)
        if state == VIR_DOMAIN_SHUTOFF and not self._abort_requested:
            # A failed migration leaves the source running; a shut-off source
            # is a switch-over libvirt has not finished tidying (the domain
            # is undefined next: UNDEFINE_SOURCE). Wait for that, bounded.
            first = self._shutoff_since = self._shutoff_since or self.clock()
            if self.clock() - first < SHUTOFF_GRACE_S:
                return "running"
            return self._settle("failed", "the source domain stayed shut off and "
                                "defined after the job ended (reason %s)" % reason)
        if self._abort_requested:
            return self._settle("cancelled", "the migration was aborted")
        return self._settle("failed", "the migration job ended on the source and the "
                            "guest is still here (state %s)" % state)

    def _settle(self, status, reason):
        with self._lock:
            self._final = status
            self.reason = reason
            unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()
        return status


def is_outgoing_migration(job_info, job_stats_dict):
    """True when a domain's job is an active outgoing migration."""
    if not job_info or job_info[0] not in ACTIVE_JOB_TYPES:
        return False
    operation = (job_stats_dict or {}).get("operation")
    return operation is None or int(operation) == JOB_OPERATION_MIGRATION_OUT
