"""The compute agent: runs instances through its virt driver.

It never touches the database: everything it learns or reports goes
through the conductor. Each instance's operations run one at a time
(work_tracker.py); results are reported back as casts so the agent is
never blocked on the conductor. Moves are delegated: cold migration to
cold_migration.py, live migration to live_migration/departures.py (the
source's runs) and live_migration/destination.py; start-up recovery to
recovery.py.
"""

import datetime
import logging
import time
import types

import oslo_messaging as messaging

from vmctl import context as vmctl_context
from vmctl import exception
from vmctl import instance_states as states
from vmctl import manager
from vmctl import rpc
from vmctl.compute import cold_migration
from vmctl.compute import recovery
from vmctl.compute import resource_tracker
from vmctl.compute import rpcapi
from vmctl.compute import work_tracker
from vmctl.compute.live_migration import departures
from vmctl.compute.live_migration import destination
from vmctl.compute.live_migration import source as live_migration_source
from vmctl.conductor import rpcapi as conductor_rpcapi
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


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat()


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
        self.work = work_tracker.WorkTracker(conf.compute.worker_threads, IDLE_WAIT_S)
        lm_deps = types.SimpleNamespace(conf=conf, driver=driver, conductor=self.conductor,
                                        compute=rpcapi.ComputeAPI(conf, transport))
        self.departures = departures.Departures(lm_deps, self.work)
        self.arrivals = destination.Destination(lm_deps, self.work)
        self.cold = cold_migration.ColdMigrationAgent(driver, self.conductor, self.work,
                                                      self.host)

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
        recovery.StartupRecovery(self.host, self.driver, self.conductor, self.departures,
                                 self.arrivals, self.terminate_instance).run(ctx, known)

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
        if self.work.is_busy(uuid):
            return
        self.conductor.power_state_changed(vmctl_context.admin_context(), uuid,
                                           self.host, power_state)

    # --- RPC endpoints -------------------------------------------------------
    def build_and_run_instance(self, ctxt, instance, node, attempt_hosts,
                               server_group=None):
        started = _now()
        with self.work.working_on(instance.uuid):
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
        with self.work.working_on(instance.uuid):
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
        busy = self.work.is_busy(instance.uuid)
        power_state = self.driver.get_power_state(instance)
        return {"busy": busy, "exists": power_state != states.NOSTATE,
                "power_state": power_state}

    # --- live migration (compute/live_migration/: departures, destination, source) ---
    @rpc.expected_exceptions(exception.MigrationPreCheckError)
    def check_can_live_migrate_source(self, ctxt, instance):
        try:
            return self.driver.migration_source_info(instance)
        except virt_driver.VirtError as exc:
            raise exception.MigrationPreCheckError(reason=str(exc)) from None

    @rpc.expected_exceptions(exception.MigrationPreCheckError)
    def check_can_live_migrate_destination(self, ctxt, instance, block_migration,
                                           source_info):
        return self.arrivals.check(instance, block_migration, source_info)

    def live_migration(self, ctxt, instance, migration):
        self.departures.start(ctxt, instance, migration)

    @rpc.expected_exceptions(exception.DestinationNotReady)
    def pre_live_migration(self, ctxt, instance, migration):
        return self.arrivals.prepare(ctxt, instance, migration)

    def post_live_migration_at_destination(self, ctxt, instance, migration):
        self.arrivals.post(instance, migration)

    def rollback_live_migration_at_destination(self, ctxt, instance, migration):
        self.arrivals.rollback(instance, migration)

    def live_migration_arrived(self, ctxt, migration_uuid):
        self.departures.tell(migration_uuid, "arrived")

    def live_migration_abort(self, ctxt, migration_uuid):
        self.departures.tell(migration_uuid, "request_abort")

    def live_migration_force_complete(self, ctxt, migration_uuid):
        self.departures.tell(migration_uuid, "request_force_complete")

    # --- cold migration / resize / evacuation (compute/cold_migration.py) ---------
    @rpc.expected_exceptions(exception.DestinationNotReady)
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

    @rpc.expected_exceptions(exception.ConsoleOutputUnavailable)
    def get_console_output(self, ctxt, instance, length):
        try:
            return self.driver.get_console_output(instance, length)
        except virt_driver.VirtError as exc:
            raise exception.ConsoleOutputUnavailable(reason=str(exc)) from None

    def terminate_instance(self, ctxt, instance):
        started = _now()
        with self.work.working_on(instance.uuid):
            try:
                self.driver.destroy(instance)
                ok, reason = True, None
            except Exception as exc:
                LOG.warning("Terminate of %s failed: %s", instance.uuid, _safe_reason(exc))
                ok, reason = False, _safe_reason(exc)
        self.work.forget(instance.uuid)
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
