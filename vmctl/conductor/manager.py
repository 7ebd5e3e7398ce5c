"""The conductor: the RPC endpoints, each one call into a task module."""

import logging
import types

import oslo_messaging as messaging

from vmctl import context as vmctl_context
from vmctl import exception
from vmctl import manager
from vmctl import rpc
from vmctl import version
from vmctl.compute import rpcapi as compute_rpcapi
from vmctl.conductor import rpcapi
from vmctl.conductor.tasks import build
from vmctl.conductor.tasks import delete
from vmctl.conductor.tasks import evacuate
from vmctl.conductor.tasks import heal
from vmctl.conductor.tasks import live_migrate
from vmctl.conductor.tasks import power
from vmctl.conductor.tasks import resize
from vmctl.conductor.tasks import resize_end
from vmctl.conductor.tasks import resize_heal
from vmctl.db import compute_nodes as db_nodes
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.db import services as db_services
from vmctl.objects import instance as instance_obj
from vmctl.scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)


class ConductorManager(manager.Manager):
    target = messaging.Target(version=rpcapi.VERSION)

    def __init__(self, conf, db, scheduler, compute):
        self.conf = conf
        self.db = db
        self.compute = compute   # get_console_output calls it directly
        deps = types.SimpleNamespace(conf=conf, db=db, scheduler=scheduler, compute=compute)
        # Each task is built with everything it uses; those it depends on first.
        self.builds = build.BuildTask(deps)
        self.power = power.PowerTask(deps)
        self.live_migrations = live_migrate.LiveMigrateTask(deps)
        self.resizes = resize.ResizeTask(deps)
        self.resize_ends = resize_end.ResizeEndTask(deps, self.resizes)
        self.evacuations = evacuate.EvacuateTask(deps, self.resizes)
        self.cold_results = resize.StepResults(db, {**self.resizes.steps,
                                                    **self.evacuations.steps})
        self.deletes = delete.DeleteTask(deps, after_delete=(
            self.resize_ends.instance_deleted, self.evacuations.instance_deleted,
            self.builds.instance_deleted))
        moves_healer = resize_heal.ResizeHealer(deps, self.resizes, self.resize_ends,
                                                self.evacuations)
        self.healer = heal.HealTask(deps, self.builds, self.power, self.deletes,
                                    self.live_migrations, moves_healer, _service_context)

    def periodic_tasks(self):
        timeout = self.conf.conductor.stalled_task_seconds
        return [("heal_stalled_tasks", max(1, timeout // 2),
                 lambda: self.healer.run(timeout)),
                ("confirm_resizes", lambda: max(1, min(60, self.conf.resize_confirm_window / 4)),
                 lambda: self.resize_ends.auto_confirm(_service_context))]

    def report_state(self):
        self.service_heartbeat(None, self.conf.host, "vmctl-conductor", self.conf.conductor.topic)

    # --- from the API ----------------------------------------------------------
    def build_instances(self, ctxt, instance_uuids, attempt_hosts):
        self.builds.schedule_and_build(ctxt, instance_uuids, attempt_hosts)

    def instance_action(self, ctxt, instance_uuid, action):
        self.power.forward(ctxt, instance_uuid, action)

    def delete_instance(self, ctxt, instance_uuid):
        self.deletes.start(ctxt, instance_uuid)

    def live_migrate_instance(self, ctxt, instance_uuid, migration_uuid, host,
                              block_migration):
        self.live_migrations.start(ctxt, instance_uuid, migration_uuid, host, block_migration)

    def live_migration_abort(self, ctxt, instance_uuid, migration_uuid):
        self.live_migrations.abort(ctxt, migration_uuid)

    def live_migration_force_complete(self, ctxt, instance_uuid, migration_uuid):
        self.live_migrations.force_complete(ctxt, migration_uuid)

    def migration_update(self, ctxt, migration_uuid, status, progress, event):
        return self.live_migrations.update(ctxt, migration_uuid, status, progress, event)

    def live_migration_finished(self, ctxt, migration_uuid, outcome, reason, progress=None):
        self.live_migrations.finish(ctxt, migration_uuid, outcome, reason, progress=progress)

    def migrate_server(self, ctxt, instance_uuid, migration_uuid, host):
        self.resizes.start(ctxt, instance_uuid, migration_uuid, host)

    def confirm_resize(self, ctxt, instance_uuid, migration_uuid):
        self.resize_ends.confirm(ctxt, instance_uuid, migration_uuid)

    def revert_resize(self, ctxt, instance_uuid, migration_uuid):
        self.resize_ends.revert(ctxt, instance_uuid, migration_uuid)

    def evacuate_instance(self, ctxt, instance_uuid, migration_uuid, host):
        self.evacuations.start(ctxt, instance_uuid, migration_uuid, host)

    def cold_migration_result(self, ctxt, migration_uuid, step, ok, info, reason,
                              started_at):
        self.cold_results.result(ctxt, migration_uuid, step, ok, info, reason, started_at)

    def moves_on_host(self, ctxt, host):
        return self.resize_ends.moves_on_host(host)

    @rpc.expected_exceptions(exception.ConsoleOutputUnavailable)
    def get_console_output(self, ctxt, instance_uuid, length):
        with self.db.reader() as session:
            row = db_instances.find(session, instance_uuid)
            if row is None:
                raise exception.ConsoleOutputUnavailable(reason="the instance is gone")
            inst = instance_obj.Instance.from_db(row)
        try:
            return self.compute.get_console_output(ctxt, inst.host, inst, length)
        except messaging.MessagingTimeout:
            raise exception.ConsoleOutputUnavailable(
                reason="compute host %s did not answer" % inst.host) from None

    # --- from compute agents ---------------------------------------------------
    def service_heartbeat(self, ctxt, host, binary, topic):
        db_services.heartbeat_or_register(self.db, host, binary, topic, version.VERSION)

    def update_inventory(self, ctxt, host, node, inventory):
        db_services.heartbeat_or_register(self.db, host, "vmctl-compute",
                                          self.conf.compute.topic, version.VERSION)
        with self.db.transaction() as session:
            db_nodes.update_inventory(session, host, node, inventory)

    def build_result(self, ctxt, instance_uuid, host, node, ok, power_state, reason,
                     attempt_hosts, started_at):
        self.builds.build_result(ctxt, instance_uuid, host, node, ok, power_state,
                                 reason, attempt_hosts, started_at)

    def action_result(self, ctxt, instance_uuid, host, action, ok, power_state, reason,
                      started_at):
        self.power.result(ctxt, instance_uuid, host, action, ok, power_state, reason,
                          started_at)

    def terminate_result(self, ctxt, instance_uuid, host, ok, reason, started_at):
        self.deletes.finish(ctxt, instance_uuid, host, ok, reason, started_at)

    def power_state_changed(self, ctxt, instance_uuid, host, power_state):
        self.power.sync(ctxt, instance_uuid, host, power_state)

    def check_server_group(self, ctxt, instance_uuid, host):
        return self.builds.check_server_group(instance_uuid, host)

    def instances_on_host(self, ctxt, host):
        """The instances on ``host``, and those a migration is bringing there
        (their ``host`` is still the source): a restarting compute must not
        take an incoming guest for an orphan."""
        with self.db.reader() as session:
            rows = db_instances.on_host(session, host)
            known = {r.uuid for r in rows}
            for uuid in db_migrations.incoming_instance_uuids(session, host) - known:
                row = db_instances.find(session, uuid)
                if row is not None:
                    rows.append(row)
            return [instance_obj.Instance.from_db(r) for r in rows]


def _service_context(request_id):
    return vmctl_context.admin_context(request_id=request_id)


def make_manager(conf, transport):
    from vmctl.db import api as db_api

    return ConductorManager(conf, db_api.Database.from_conf(conf),
                            scheduler_rpcapi.SchedulerAPI(conf, transport),
                            compute_rpcapi.ComputeAPI(conf, transport))
