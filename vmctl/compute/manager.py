"""The compute agent: runs instances through its virt driver.

It never touches the database: everything it learns or reports goes
through the conductor. Each instance's operations run one at a time (a
lock per instance); results are reported back as casts so the agent is
never blocked on the conductor.
"""

import collections
import contextlib
import logging
import threading
import time
import types

import oslo_messaging as messaging

from vmctl import context as vmctl_context
from vmctl import manager
from vmctl import migration_states as ms
from vmctl import states
from vmctl.compute import cold_migration
from vmctl.compute import resource_tracker
from vmctl.compute import rpcapi
from vmctl.compute.live_migration import outgoing as live_migration_outgoing
from vmctl.compute.live_migration import source as live_migration_source
from vmctl.conductor import rpcapi as conductor_rpcapi
from vmctl.objects import migration as migration_obj
from vmctl.virt import driver as virt_driver
from vmctl.virt import drivers as virt_drivers

LOG = logging.getLogger(__name__)

# How long a request bringing an instance back waits for this agent's work on
# it to end (a live migration's clean-up waits for the hypervisor up to
# source.TEARDOWN_TIMEOUT_S).
IDLE_WAIT_S = live_migration_source.TEARDOWN_TIMEOUT_S + 30

# action -> (driver call, instance action event name)
DRIVER_CALLS = {
    "stop": (lambda d, i: d.power_off(i), "compute_stop_instance"),
    "start": (lambda d, i: d.power_on(i), "compute_start_instance"),
    "reboot": (lambda d, i: d.reboot(i, hard=False), "compute_reboot_instance"),
    "reboot_hard": (lambda d, i: d.reboot(i, hard=True), "compute_reboot_instance"),
    "pause": (lambda d, i: d.pause(i), "compute_pause_instance"),
    "unpause": (lambda d, i: d.unpause(i), "compute_unpause_instance"),
    "suspend": (lambda d, i: d.suspend(i), "compute_suspend_instance"),
    "resume": (lambda d, i: d.resume(i), "compute_resume_instance"),
}

# What a driver needs to remove a guest no instance record owns any more.
GuestRef = collections.namedtuple("GuestRef", "uuid")



def _now():
    from datetime import datetime
    from datetime import timezone
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat()


def _safe_reason(exc):
    if isinstance(exc, virt_driver.VirtError):
        return str(exc)
    return "%s: %s" % (type(exc).__name__, exc)


class ComputeManager(manager.Manager):
    target = messaging.Target(version=rpcapi.VERSION)

    def __init__(self, conf, transport, driver):
        self.conf = conf
        self.host = conf.host
        self.driver = driver
        self.conductor = conductor_rpcapi.ConductorAPI(conf, transport)
        self.tracker = resource_tracker.ResourceTracker(conf, driver, self.conductor)
        self._locks = collections.defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        self._workers = threading.BoundedSemaphore(conf.compute.worker_threads)
        self._busy = collections.Counter()
        self._migrations = {}
        self._incoming = set()  # migrations this destination prepared for
        self._arrivals = {}     # migration uuid -> stop watching its arrival here
        self._received = live_migration_outgoing.OutgoingRecords(conf.state_path, conf.host,
                                                                 "in")
        self._outgoing = threading.BoundedSemaphore(conf.compute.max_concurrent_live_migrations)
        self._handed = live_migration_outgoing.OutgoingRecords(conf.state_path, conf.host)
        self._lm_deps = types.SimpleNamespace(
            conf=conf, driver=driver, conductor=self.conductor,
            compute=rpcapi.ComputeAPI(conf, transport))
        self.cold = cold_migration.ColdMigrationAgent(self)

    # --- lifecycle ---------------------------------------------------------
    def init_host(self):
        self.driver.register_event_handler(self._power_state_changed)
        self.driver.init_host(self.host)
        ctx = vmctl_context.admin_context()
        known = _until_answered("the instances of this host", lambda: (
            self.conductor.instances_on_host(ctx, self.host, timeout=10)))
        self.report_state()
        _until_answered("the first inventory report", lambda: self.tracker.report(ctx))
        self.cold.recover(ctx, _until_answered("the moves of this host", lambda: (
            self.conductor.moves_on_host(ctx, self.host, timeout=10))))
        self._recover(ctx, known)

    def report_state(self):
        self.conductor.service_heartbeat(vmctl_context.admin_context(), self.host,
                                         "vmctl-compute", self.conf.compute.topic)

    def periodic_tasks(self):
        return [("update_available_resource",
                 lambda: self.conf.compute.resource_report_interval,
                 lambda: self.tracker.report(vmctl_context.admin_context())),
                ("cleanup_image_cache",
                 lambda: self.conf.compute.image_cache_cleanup_interval,
                 self.driver.cleanup_image_cache)]

    def _power_state_changed(self, uuid, power_state):
        """A guest changed power state by itself: tell the conductor.

        Changes this agent causes are reported with the task's result
        instead; while an operation on the instance runs they are skipped.
        """
        if self.is_busy(uuid):
            return
        self.conductor.power_state_changed(vmctl_context.admin_context(), uuid,
                                           self.host, power_state)

    def is_busy(self, uuid):
        """Whether an operation on the instance runs on this agent."""
        with self._locks_guard:
            return uuid in self._busy

    def wait_idle(self, uuid, timeout=IDLE_WAIT_S):
        """Wait (bounded) for this agent's work on an instance to end: a guest
        that just left this host may still be cleaned up here when a new move
        brings it back."""
        lock = self._lock_for(uuid)
        if lock.acquire(timeout=timeout):
            lock.release()
        else:
            LOG.warning("Instance %s is still busy here after %ss", uuid, timeout)

    def _lock_for(self, uuid):
        with self._locks_guard:
            return self._locks[uuid]

    @contextlib.contextmanager
    def _working_on(self, uuid):
        """One operation on an instance at a time; counted while it waits or runs."""
        with self._locks_guard:
            self._busy[uuid] += 1
        try:
            with self._workers, self._lock_for(uuid):
                yield
        finally:
            self._release_busy(uuid)

    def _release_busy(self, uuid):
        with self._locks_guard:
            self._busy[uuid] -= 1
            if not self._busy[uuid]:
                del self._busy[uuid]

    def _recover(self, ctx, known):
        """Finish or undo what a previous run of this agent left half-done."""
        guests = self.driver.list_instances()
        handed = self._handed.take_all()  # live migrations this source was running
        self._recover_incoming({i.uuid for i in known if i.host != self.host})
        for inst in known:
            if inst.host != self.host:
                continue  # incoming: the migration's source side settles it
            self._recover_one(ctx, inst, guests.get(inst.uuid), handed.get(inst.uuid, ()))
        for uuid in set(handed) - {i.uuid for i in known if i.host == self.host}:
            self._clean_after_departure(uuid)
        for uuid in set(guests) - {i.uuid for i in known}:
            LOG.warning("Destroying guest %s: no instance of this host has it", uuid)
            self.driver.destroy(GuestRef(uuid))

    def _clean_after_departure(self, uuid):
        """A live migration from here ended while this agent was down or
        before it had cleaned up (completed is recorded before the source's
        clean-up): the instance is no longer this host's."""
        LOG.warning("Cleaning up after instance %s, which left this host while the agent "
                    "was down", uuid)
        try:
            self.driver.post_live_migration_at_source(GuestRef(uuid))
        except Exception:
            LOG.exception("Clean-up after the departure of %s failed", uuid)

    def _recover_incoming(self, incoming):
        """Migrations prepared here before the restart still count against
        the incoming limit while the conductor has them under way."""
        for instance_uuid, migrations in self._received.take_all().items():
            if instance_uuid in incoming:
                for migration in migrations:
                    self._track_incoming(migration)

    def _track_incoming(self, migration):
        with self._locks_guard:
            self._incoming.add(migration.uuid)
        self._received.add(migration)

    def _untrack_incoming(self, migration):
        with self._locks_guard:
            self._incoming.discard(migration.uuid)
        self._received.remove(migration.uuid)

    def _recover_one(self, ctx, inst, power_state, handed=()):
        task = inst.task_state
        if task == states.DELETING:
            self.terminate_instance(ctx, inst)
        elif task == states.SPAWNING and power_state is None:
            self.conductor.build_result(ctx, inst.uuid, self.host, self.driver.nodename,
                                        False, states.NOSTATE,
                                        "compute service restarted during the build",
                                        attempt_hosts=[self.host])
        elif task == states.SPAWNING:
            self.conductor.build_result(ctx, inst.uuid, self.host, self.driver.nodename,
                                        True, power_state, attempt_hosts=[self.host])
        elif task in states.ACTION_FOR_TASK:
            self.conductor.action_result(ctx, inst.uuid, self.host, states.ACTION_FOR_TASK[task],
                                         False, power_state or states.NOSTATE,
                                         "interrupted by a restart of the compute service")
        elif task == states.MIGRATING:
            self._adopt_live_migration(ctx, inst, power_state, handed)

    def _adopt_live_migration(self, ctx, inst, power_state=None, handed=()):
        """A live migration from this host whose hypervisor job outlived the
        restart: watch it to its end again. One without a job (it was
        queued or preparing) whose guest still runs here as before is rolled
        back now. Anything else (no record, a guest gone or shut off here)
        is the conductor's healer's to settle from where the guest runs."""
        adopt = getattr(self.driver, "adopt_live_migration", None)
        try:
            job = adopt(inst) if adopt is not None else None
        except Exception:
            LOG.exception("Cannot look for a live migration job of %s", inst.uuid)
            return
        if job is None:
            if states.runs_as_before(inst, power_state):
                for migration in handed:
                    self._abandon_live_migration(ctx, inst, migration)
            return
        record = job.migration
        migration = migration_obj.Migration(
            uuid=record["uuid"], instance_uuid=inst.uuid, migration_type=ms.LIVE,
            status=ms.POSTCOPY if getattr(job, "postcopy", False) else ms.RUNNING,
            source_compute=self.host, source_node=record.get("source_node"),
            dest_compute=record["dest_compute"], dest_node=record.get("dest_node"),
            block_migration=bool(record.get("block_migration")))
        LOG.warning("Adopted the running live migration %s of %s to %s", migration.uuid,
                    inst.uuid, migration.dest_compute)
        self._start_live_migration(ctx, inst, migration, job)

    # --- RPC endpoints -------------------------------------------------------
    def build_and_run_instance(self, ctxt, instance, node, attempt_hosts,
                               server_group=None):
        started = _now()
        with self._working_on(instance.uuid):
            violation = server_group and self._server_group_violation(ctxt, instance)
            if violation:
                LOG.warning("Not building %s here: %s", instance.uuid, violation)
                self.conductor.build_result(ctxt, instance.uuid, self.host, node, False,
                                            states.NOSTATE, violation, attempt_hosts, started)
                return
            try:
                power_state = self.driver.spawn(instance)
            except Exception as exc:
                LOG.warning("Build of %s failed: %s", instance.uuid, _safe_reason(exc))
                self.driver.destroy(instance)
                self.conductor.build_result(ctxt, instance.uuid, self.host, node, False,
                                            states.NOSTATE, _safe_reason(exc),
                                            attempt_hosts, started)
                return
        self.conductor.build_result(ctxt, instance.uuid, self.host, node, True,
                                    power_state, None, attempt_hosts, started)

    def _server_group_violation(self, ctxt, instance):
        """The late check: the server group's hard policy, against the
        membership as the database has it now (a race between schedulers
        may have put a conflicting member here). Why not, or None."""
        try:
            return self.conductor.check_server_group(ctxt, instance.uuid, self.host,
                                                     timeout=15)
        except messaging.MessagingException as exc:
            LOG.warning("Server group check of %s unanswered (%s); building anyway",
                        instance.uuid, type(exc).__name__)
            return None

    def run_action(self, ctxt, instance, action):
        call, _event = DRIVER_CALLS[action]
        started = _now()
        with self._working_on(instance.uuid):
            try:
                call(self.driver, instance)
                ok, reason = True, None
            except Exception as exc:
                LOG.warning("%s of %s failed: %s", action, instance.uuid, _safe_reason(exc))
                ok, reason = False, _safe_reason(exc)
            power_state = self.driver.get_power_state(instance)
        self.conductor.action_result(ctxt, instance.uuid, self.host, action, ok,
                                     power_state, reason, started)

    def describe_instance(self, ctxt, instance):
        """What this host knows of an instance, for the conductor's healing."""
        busy = self.is_busy(instance.uuid)
        power_state = self.driver.get_power_state(instance)
        return {"busy": busy, "exists": power_state != states.NOSTATE,
                "power_state": power_state}

    # --- live migration ------------------------------------------------------------
    def check_can_live_migrate_source(self, ctxt, instance):
        try:
            return {"ok": True, "info": self.driver.migration_source_info(instance)}
        except virt_driver.VirtError as exc:
            return {"ok": False, "reason": str(exc)}

    def check_can_live_migrate_destination(self, ctxt, instance, block_migration,
                                           source_info):
        self.wait_idle(instance.uuid)
        with self._locks_guard:
            incoming = len(self._incoming)
        if incoming >= self.conf.compute.max_incoming_live_migrations:
            return {"ok": False, "reason": "%s already receives %d live migrations "
                    "(max_incoming_live_migrations)" % (self.host, incoming)}
        ok, reason, shared = self.driver.check_migration_destination(
            instance, block_migration, source_info)
        return {"ok": ok, "reason": reason, "shared_storage": shared}

    def live_migration(self, ctxt, instance, migration):
        self._start_live_migration(ctxt, instance, migration)

    def _abandon_live_migration(self, ctx, inst, migration):
        LOG.warning("Rolling back the live migration %s of %s to %s: it had not started "
                    "when this agent stopped", migration.uuid, inst.uuid,
                    migration.dest_compute)
        live_migration_source.SourceRun(ctx, inst, migration, self._lm_deps,
                                        self._outgoing).abandon()

    def _start_live_migration(self, ctxt, instance, migration, adopted_job=None):
        run = live_migration_source.SourceRun(ctxt, instance, migration, self._lm_deps,
                                              self._outgoing)
        self._handed.add(migration)
        with self._locks_guard:
            self._migrations[migration.uuid] = run
            # Busy from now on, before the thread runs: the healer must not
            # settle an adopted migration the moment the RPC server starts.
            self._busy[instance.uuid] += 1

        def work():
            try:
                with self._working_on(instance.uuid):
                    run.run(adopted_job)
            finally:
                self._handed.remove(migration.uuid)
                with self._locks_guard:
                    self._migrations.pop(migration.uuid, None)
                self._release_busy(instance.uuid)

        threading.Thread(target=work, name="live-migration-%s" % migration.uuid[:8],
                         daemon=True).start()

    def pre_live_migration(self, ctxt, instance, migration):
        self.wait_idle(instance.uuid)
        self._track_incoming(migration)
        try:
            info = self.driver.pre_live_migration(instance, migration, {})
        except virt_driver.VirtError as exc:
            self._untrack_incoming(migration)
            return {"ok": False, "reason": str(exc)}
        self._watch_arrival(ctxt, instance, migration)
        return {"ok": True, "info": info}

    def _watch_arrival(self, ctxt, instance, migration):
        """Tell the source the moment the guest runs here (see source.py)."""
        def arrived():
            threading.Thread(target=self._report_arrival, args=(ctxt, migration),
                             name="arrived-%s" % migration.uuid[:8], daemon=True).start()
        try:
            stop = self.driver.watch_arrival(instance, migration, arrived)
        except Exception:
            LOG.exception("Cannot watch the arrival of %s", instance.uuid)
            return
        if stop is not None:
            with self._locks_guard:
                self._arrivals[migration.uuid] = stop

    def _report_arrival(self, ctxt, migration):
        LOG.info("Live migration %s: the guest runs here; telling %s", migration.uuid,
                 migration.source_compute)
        try:
            self._lm_deps.compute.live_migration_arrived(ctxt, migration.source_compute,
                                                         migration.uuid)
        except messaging.MessagingException as exc:
            LOG.warning("Could not tell %s that migration %s arrived: %s",
                        migration.source_compute, migration.uuid, exc)

    def _stop_watching_arrival(self, migration):
        with self._locks_guard:
            stop = self._arrivals.pop(migration.uuid, None)
        if stop is not None:
            stop()

    def post_live_migration_at_destination(self, ctxt, instance, migration):
        self._stop_watching_arrival(migration)
        self.driver.post_live_migration_at_destination(instance, migration)
        self._untrack_incoming(migration)

    def rollback_live_migration_at_destination(self, ctxt, instance, migration):
        self._stop_watching_arrival(migration)
        try:
            self.driver.rollback_live_migration_at_destination(instance, migration)
        finally:
            self._untrack_incoming(migration)

    def live_migration_arrived(self, ctxt, migration_uuid):
        self._tell_run(migration_uuid, "arrived")

    def live_migration_abort(self, ctxt, migration_uuid):
        self._tell_run(migration_uuid, "request_abort")

    def live_migration_force_complete(self, ctxt, migration_uuid):
        self._tell_run(migration_uuid, "request_force_complete")

    def _tell_run(self, migration_uuid, what):
        """Pass a message to the run of an outgoing migration, if it runs here."""
        with self._locks_guard:
            run = self._migrations.get(migration_uuid)
        if run is not None:
            getattr(run, what)()

    # --- cold migration / resize / evacuation (compute/cold_migration.py) ---------
    def prep_resize(self, ctxt, instance, migration):
        return self.cold.prep_resize(ctxt, instance, migration)

    def resize_instance(self, ctxt, instance, migration, dest_info):
        self.cold.resize_instance(ctxt, instance, migration, dest_info)

    def finish_resize(self, ctxt, instance, migration, manifest, power_on):
        self.cold.finish_resize(ctxt, instance, migration, manifest, power_on)

    def confirm_resize(self, ctxt, instance, migration):
        self.cold.confirm_resize(ctxt, instance, migration)

    def revert_resize(self, ctxt, instance, migration):
        self.cold.revert_resize(ctxt, instance, migration)

    def finish_revert_resize(self, ctxt, instance, migration):
        self.cold.finish_revert_resize(ctxt, instance, migration)

    def cleanup_resize(self, ctxt, instance, migration):
        self.cold.cleanup_resize(ctxt, instance, migration)

    def rebuild_instance(self, ctxt, instance, migration):
        self.cold.rebuild_instance(ctxt, instance, migration)

    def describe_migration(self, ctxt, instance, migration):
        return self.cold.describe_migration(ctxt, instance, migration)

    def get_console_output(self, ctxt, instance, length):
        try:
            return {"output": self.driver.get_console_output(instance, length)}
        except virt_driver.VirtError as exc:
            return {"error": str(exc)}

    def terminate_instance(self, ctxt, instance):
        started = _now()
        with self._working_on(instance.uuid):
            try:
                self.driver.destroy(instance)
                ok, reason = True, None
            except Exception as exc:
                LOG.warning("Terminate of %s failed: %s", instance.uuid, _safe_reason(exc))
                ok, reason = False, _safe_reason(exc)
        with self._locks_guard:
            self._locks.pop(instance.uuid, None)
        self.conductor.terminate_result(ctxt, instance.uuid, self.host, ok, reason, started)


def _until_answered(what, call, max_delay=30):
    """Start-up calls to the conductor, retried with backoff until answered."""
    delay = 1
    while True:
        try:
            return call()
        except (messaging.MessagingTimeout, messaging.RemoteError) as exc:
            LOG.warning("Conductor did not answer for %s (%s); retrying in %ss",
                        what, type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_delay)


def make_manager(conf, transport):
    return ComputeManager(conf, transport, virt_drivers.load(conf))
