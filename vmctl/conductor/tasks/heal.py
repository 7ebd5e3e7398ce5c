"""Healing: finish tasks whose messages were lost.

Every accepted request must end visibly (DESIGN.md, invariant 4). A cast
can be lost when a daemon dies between taking a message and acting on it,
so a conductor periodically looks for instances whose task_state has not
moved for ``[conductor] stalled_task_seconds`` and finishes the task from
what the instance's compute reports now:

  scheduling      schedule again (the build never reached a compute)
  spawning        the guest exists: built; it does not: build failed
                  (which reschedules, bounded)
  a power action  settled by the power state the guest is in
  deleting        the guest is gone: finish the delete; else terminate again
  migrating       (live) the source no longer runs the migration: the guest
                  still on the source -> failed, rolled back; only on the
                  destination -> completed; on neither -> error. A guest
                  shut off or paused on the source (not as before) while the
                  destination has it (or does not answer) is a switch-over
                  being tidied: looked at again next round, never rolled back
  resize_*, rebuilding   cold moves: see resize_heal.py

A compute that is still working on the instance, or does not answer, is
left alone (its own start-up recovery handles the restart case). A
conductor takes an instance over by moving its updated_at with a
compare-and-swap, so two conductors never heal the same one.
"""

import datetime
import logging

import oslo_messaging as messaging

from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl import migration_states as ms
from vmctl.conductor.tasks import live_migrate
from vmctl.conductor.tasks import resize_heal
from vmctl.db import actions as db_actions
from vmctl.db import claims as db_claims
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.db import models
from vmctl.objects import instance as instance_obj

LOG = logging.getLogger(__name__)

HEALED_TASKS = (states.SCHEDULING, states.SPAWNING, states.DELETING, states.MIGRATING,
                *states.ACTION_FOR_TASK, *resize_heal.TASKS)


class HealTask:
    def __init__(self, deps, builds, power, deletes, live_migrations, moves, make_context):
        """``moves``: the resize_heal.ResizeHealer of cold migration, resize
        and evacuation."""
        self.db = deps.db
        self.compute = deps.compute
        self.builds = builds
        self.power = power
        self.deletes = deletes
        self.live_migrations = live_migrations
        self.moves = moves
        self.make_context = make_context

    def run(self, older_than):
        cutoff = models.utcnow() - datetime.timedelta(seconds=older_than)
        with self.db.reader() as session:
            stalled = db_instances.stalled(session, HEALED_TASKS, cutoff)
        for row in stalled:
            ctx = self._take_over(row)
            if ctx is not None:
                self._heal(ctx, row)

    def _take_over(self, row):
        with self.db.transaction() as session:
            if not db_instances.compare_and_swap(
                    session, row.uuid, {}, expected_task_state=row.task_state,
                    expected_updated_at=row.updated_at):
                return None
            return self.make_context(db_actions.latest_request_id(session, row.uuid))

    def _heal(self, ctx, row):
        task = row.task_state
        if task in resize_heal.TASKS:
            self.moves.heal(ctx, row)
            return
        if task == states.SCHEDULING:
            # A claim the lost placement made (the scheduler claims before
            # the conductor sets the host) would stay beside the new one.
            LOG.warning("Build of %s stalled in scheduling; scheduling it again", row.uuid)
            db_claims.release(self.db, row.uuid)
            self.builds.schedule_and_build(ctx, [row.uuid], [])
            return
        if not row.host:
            if task == states.DELETING:
                self.deletes.finish(ctx, row.uuid, None, True, None, None)
            return
        inst = instance_obj.Instance.from_db(row)
        try:
            found = self.compute.describe_instance(ctx, row.host, inst)
        except messaging.MessagingTimeout:
            LOG.info("Cannot heal %s: compute %s does not answer", row.uuid, row.host)
            if task == states.DELETING:
                self.deletes.start(ctx, row.uuid)  # deletes locally once the host is down
            return
        if found["busy"]:
            return
        LOG.warning("Task %s of %s stalled on %s; finishing it from the host's state %s",
                    task, row.uuid, row.host, found)
        self._settle(ctx, row, inst, task, found)

    def _settle(self, ctx, row, inst, task, found):
        lost = "the task's result was lost; settled from the hypervisor's state"
        if task == states.SPAWNING:
            self.builds.build_result(ctx, row.uuid, row.host, row.node, found["exists"],
                                     found["power_state"], None if found["exists"] else lost,
                                     [row.host], None)
        elif task == states.MIGRATING:
            self._settle_migration(ctx, row, inst, found)
        elif task == states.DELETING:
            if found["exists"]:
                self.compute.terminate_instance(ctx, row.host, inst)
            else:
                self.deletes.finish(ctx, row.uuid, row.host, True, None, None)
        else:
            action = states.ACTION_FOR_TASK[task]
            ok = found["power_state"] == states.ACTIONS[action].power_state
            self.power.result(ctx, row.uuid, row.host, action, ok, found["power_state"],
                              None if ok else lost, None)

    def _settle_migration(self, ctx, row, inst, found):
        with self.db.reader() as session:
            running = db_migrations.in_progress_for_instance(session, row.uuid, ms.LIVE)
        if not running:
            with self.db.transaction() as session:
                no_record = instance_tasks.step("live_migration", "heal_no_record")
                db_instances.compare_and_swap(session, row.uuid, {"task_state": None},
                                              expected_task_state=no_record.expects)
            return
        migration = running[-1]
        if found["exists"] and not states.runs_as_before(row, found["power_state"]):
            # Shut off or paused on the source: maybe a switch-over the
            # hypervisor has not finished tidying. Never roll back a
            # destination that may now run the guest; look again next round.
            if self._on_destination(ctx, migration, inst) is not False:
                LOG.warning("Live migration %s of %s: the guest is in power state %s on "
                            "the source; settling it later", migration.uuid, row.uuid,
                            found["power_state"])
                return
        if found["exists"]:
            if migration.dest_compute:
                self.compute.rollback_live_migration_at_destination(
                    ctx, migration.dest_compute, inst, live_migrate.to_object(migration))
            self.live_migrations.finish(
                ctx, migration.uuid, ms.FAILED, "The migration was lost (its source "
                "compute or conductor stopped); the guest stays on the source.")
            return
        on_dest = self._on_destination(ctx, migration, inst)
        if on_dest is None:
            return  # ask again at the next round
        if on_dest:
            self.live_migrations.finish(ctx, migration.uuid, ms.COMPLETED)
        else:
            self.live_migrations.finish(
                ctx, migration.uuid, ms.ERROR, "The guest runs on neither host after its "
                "live migration was lost; rebuild or delete the server.", guest_lost=True)

    def _on_destination(self, ctx, migration, inst):
        """Whether the destination has the guest; None if it does not answer."""
        if not migration.dest_compute:
            return False
        try:
            return self.compute.describe_instance(ctx, migration.dest_compute,
                                                  inst)["exists"]
        except messaging.MessagingTimeout:
            return None
