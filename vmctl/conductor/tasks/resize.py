"""Cold migration and resize, the conductor's part: every step of the move.

The API has set task_state resize_prep and written the migration
(pre-migrating, type ``migration`` or ``resize``, old and new flavor).
Each row is one compare-and-swap along migration_states.COLD_TRANSITIONS
together with the instance's task_state, in one transaction:

  pre-migrating   the scheduler picks and claims a destination for the NEW
                  flavor, consumer = the migration (source excluded unless
                  [DEFAULT] allow_resize_to_same_host); the destination's
                  prep_resize accepts it (else the next host, bounded)
  migrating       resize_migrating: the source powers off, keeps its copy and
                  offers the disk (a disk_transfer manifest)
  post-migrating  resize_migrated -> resize_finish: the destination pulls and
                  verifies the disk, defines the guest with the new flavor and
                  starts it if it ran
  finished        vm_state resized: host/node/flavor switched; the claims are
                  swapped (the instance holds the destination, the migration
                  the source) -- VERIFY_RESIZE
  confirming -> confirmed   the source drops its copy; the migration's claim
                  (source, old flavor) is released
  reverting -> reverted     the destination removes its guest, the source
                  brings the old one back (flavor, disk, power state); the
                  claims are swapped back and the destination's released
  error           the source failed (the guest is as it was), or the
                  destination failed (rolled back to the source first); a
                  revert that cannot restore leaves the instance in ERROR
                  with a fault saying what to do

Confirm, revert, auto-confirm and deletes are in resize_end.py; healing
of lost steps in resize_heal.py.
"""

import logging

import oslo_messaging as messaging

from vmctl import exception
from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl import migration_states as ms
from vmctl.conductor.tasks import build
from vmctl.db import actions as db_actions
from vmctl.db import claims as db_claims
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.db import services as db_services
from vmctl.objects import flavor as flavor_obj
from vmctl.objects import instance as instance_obj
from vmctl.objects import migration as migration_obj

LOG = logging.getLogger(__name__)

EVENT_PREP = "conductor_migrate_server"
# step reported by a compute -> its instance action event
STEP_EVENTS = {
    "migrated": "compute_resize_instance",
    "finished": "compute_finish_resize",
    "confirmed": "compute_confirm_resize",
    "dest_reverted": "compute_revert_resize",
    "reverted": "compute_finish_revert_resize",
}


def to_object(row):
    return migration_obj.Migration.from_values(row)


def instance_with_flavor(row, flavor):
    inst = instance_obj.Instance.from_db(row)
    inst.flavor = flavor_obj.Flavor.from_values(dict(flavor))
    return inst


class ResizeTask:
    def __init__(self, deps):
        self.db = deps.db
        self.conf = deps.conf
        self.scheduler = deps.scheduler
        self.compute = deps.compute
        self.steps = {"migrated": self._migrated, "finished": self._finished,
                      "dest_reverted": self._dest_reverted, "reverted": self._reverted,
                      "confirmed": self._confirmed}
        self._results = StepResults(self.db, self.steps)

    # --- pre-migrating -> migrating ------------------------------------------------
    def start(self, ctx, instance_uuid, migration_uuid, host):
        with self.db.transaction() as session:
            row = db_instances.find(session, instance_uuid)
            migration = db_migrations.find(session, migration_uuid)
            if (row is None or migration is None or migration.status != ms.PRE_MIGRATING
                    or row.task_state != states.RESIZE_PREP):
                return
            db_actions.event_start(session, instance_uuid, ctx.request_id, EVENT_PREP)
            source_up = db_services.compute_is_up(session, row.host, self.conf.service_down_time)
        if not source_up:
            self.fail_early(ctx, migration_uuid, "The source compute %s is down." % row.host)
            return
        dest, why = self._pick_destination(ctx, row, migration, host)
        if dest is None:
            self.fail_early(ctx, migration_uuid, why)
            return
        self._hand_to_source(ctx, row, migration_uuid, dest)

    def _pick_destination(self, ctx, row, migration, host):
        """(destination dict, None) or (None, why)."""
        same_host = self.conf.allow_resize_to_same_host
        tried = [] if same_host else [row.host]
        reasons = []
        consumer = [{"consumer_uuid": migration.uuid, "instance_uuid": row.uuid}]
        spec = build.spec_for(row, migration.new_flavor)
        inst = instance_with_flavor(row, migration.new_flavor)
        for _attempt in range(self.conf.scheduler.max_attempts):
            try:
                placed = self.scheduler.select_destinations(
                    ctx, spec, consumer, exclude_hosts=tried,
                    force_hosts=[host] if host else None)[0]
            except messaging.MessagingException as exc:
                return None, "The scheduler failed: %s" % type(exc).__name__
            if placed.get("host") is None:
                reasons.append("No valid host was found. %s" % placed.get("reason", ""))
                break
            info, refused = self._prepare(ctx, placed, inst, migration)
            if refused is None:
                placed["info"] = info or {}
                return placed, None
            db_claims.release(self.db, migration.uuid, node_id=placed["node_id"])
            tried.append(placed["host"])
            reasons.append("%s: %s" % (placed["host"], refused))
            if host:
                break
        return None, "No destination could take the server (%s)." % "; ".join(reasons)

    def _prepare(self, ctx, placed, inst, migration):
        """(what the source needs from the destination, None) or (None, why not)."""
        mobj = to_object(migration)
        mobj.dest_compute, mobj.dest_node = placed["host"], placed["node"]
        try:
            return self.compute.prep_resize(ctx, placed["host"], inst, mobj), None
        except exception.DestinationNotReady as exc:
            return None, exc.message
        except messaging.MessagingException as exc:
            return None, "did not answer (%s)" % type(exc).__name__

    def _hand_to_source(self, ctx, row, migration_uuid, dest):
        with self.db.transaction() as session:
            moved = db_migrations.move(session, migration_uuid, ms.MIGRATING, {
                "dest_compute": dest["host"], "dest_node": dest["node"]},
                expected=[ms.PRE_MIGRATING])
            hand_over = instance_tasks.step("cold_migration", "hand_to_source")
            swapped = moved and db_instances.compare_and_swap(
                session, row.uuid, {"task_state": hand_over.sets},
                expected_task_state=hand_over.expects, expected_host=row.host)
            if not swapped:
                # Deleted (or healed) while we looked for a destination.
                db_migrations.move(session, migration_uuid, ms.ERROR)
                db_claims.release_in(session, migration_uuid)
                return
            db_actions.event_finish(session, row.uuid, ctx.request_id, EVENT_PREP, "Success",
                                    details="destination %s" % dest["host"])
            migration = to_object(db_migrations.find(session, migration_uuid))
            inst = instance_obj.Instance.from_db(db_instances.find(session, row.uuid))
        self.compute.resize_instance(ctx, row.host, inst, migration, dest["info"])

    def fail_early(self, ctx, migration_uuid, why):
        """Nothing moved yet: the migration ends in error, the instance rests
        where it is, the migration's claims are released."""
        self.settle(ctx, migration_uuid, ms.ERROR, {"task_state": None},
                    instance_tasks.step("cold_migration", "no_destination").expects,
                    EVENT_PREP, False, why)

    # --- the end of a move, in one transaction --------------------------------------
    def settle(self, ctx, migration_uuid, outcome, values, expected_tasks, event, ok,
               details=None, host=None, claims=None, fault=None, started_at=None):
        """Move the migration to ``outcome`` and the instance to ``values``
        (a dict or f(migration) -> dict); ``claims(session, migration)``
        rearranges the claims (default: the migration's are released).
        Returns the migration row, or None if it had moved on already."""
        with self.db.transaction() as session:
            m = db_migrations.find(session, migration_uuid)
            if m is None or not db_migrations.move(session, m, outcome):
                return None
            values = values(m) if callable(values) else values
            swapped = db_instances.compare_and_swap(session, m.instance_uuid, values,
                                                    expected_task_state=expected_tasks)
            if swapped and claims is not None:
                claims(session, m)
            else:
                db_claims.release_in(session, migration_uuid)
            if swapped and fault:
                db_instances.add_fault(session, m.instance_uuid, 500, fault, host=host)
            db_actions.event_finish(session, m.instance_uuid, ctx.request_id, event,
                                    "Success" if ok else "Error", host=host,
                                    details=details, start_time=started_at)
            db_actions.finish_action(session, m.instance_uuid, ctx.request_id)
        LOG.info("%s %s of %s: %s%s", m.migration_type, migration_uuid, m.instance_uuid,
                 outcome, " (%s)" % details if details else "")
        return m

    # --- reports from the computes ---------------------------------------------------
    def result(self, ctx, migration_uuid, step, ok, info, reason, started_at):
        """A step of a resize or cold migration reported (or re-sent by healing)."""
        self._results.result(ctx, migration_uuid, step, ok, info, reason, started_at)

    def _migrated(self, ctx, m, row, ok, info, reason, started_at):
        event = STEP_EVENTS["migrated"]
        if not ok:
            self.settle(ctx, m.uuid, ms.ERROR, {"task_state": None},
                        instance_tasks.step("cold_migration", "source_failed").expects,
                        event, False,
                        "The source could not hand over the disk: %s" % reason,
                        host=m.source_compute, started_at=started_at)
            self._cleanup(ctx, m, row, m.dest_compute)
            return
        with self.db.transaction() as session:
            moved = m.status == ms.POST_MIGRATING or db_migrations.move(
                session, m.uuid, ms.POST_MIGRATING, expected=[ms.MIGRATING])
            offered = instance_tasks.step("cold_migration", "disk_offered")
            swapped = moved and db_instances.compare_and_swap(
                session, m.instance_uuid, {"task_state": offered.sets},
                expected_task_state=offered.expects, expected_host=m.source_compute)
            if swapped:
                db_actions.event_finish(session, m.instance_uuid, ctx.request_id, event,
                                        "Success", host=m.source_compute,
                                        start_time=started_at)
        if swapped:
            self.send_finish(ctx, m.uuid, info["manifest"])

    def send_finish(self, ctx, migration_uuid, manifest):
        with self.db.transaction() as session:
            m = db_migrations.find(session, migration_uuid)
            finish = instance_tasks.step("cold_migration", "finish_sent")
            if not db_instances.compare_and_swap(
                    session, m.instance_uuid, {"task_state": finish.sets},
                    expected_task_state=finish.expects):
                return
            row = db_instances.find(session, m.instance_uuid)
            inst = instance_with_flavor(row, m.new_flavor)
            power_on = row.vm_state != states.STOPPED
        self.compute.finish_resize(ctx, m.dest_compute, inst, to_object(m), manifest, power_on)

    def _finished(self, ctx, m, row, ok, info, reason, started_at):
        event = STEP_EVENTS["finished"]
        if not ok:
            self._roll_back(ctx, m, row, reason, started_at)
            return
        switched = {"host": m.dest_compute, "node": m.dest_node, "flavor": m.new_flavor,
                    "vm_state": states.RESIZED, "task_state": None,
                    "power_state": info.get("power_state", states.NOSTATE)}
        with self.db.transaction() as session:
            swapped = db_instances.compare_and_swap(
                session, m.instance_uuid, switched,
                expected_task_state=instance_tasks.step("cold_migration", "finished").expects,
                expected_host=m.source_compute)
            # The instance is ours (resize_finish): nobody else moves the migration.
            if swapped and db_migrations.move(session, m.uuid, ms.FINISHED,
                                              expected=[ms.POST_MIGRATING]):
                db_claims.swap_consumers(session, m.instance_uuid, m.uuid)
                db_actions.event_finish(session, m.instance_uuid, ctx.request_id, event,
                                        "Success", host=m.dest_compute,
                                        start_time=started_at)
                db_actions.finish_action(session, m.instance_uuid, ctx.request_id)
        if not swapped:
            LOG.info("Resize of %s finished after the instance moved on; cleaning up",
                     m.instance_uuid)
            self._cleanup(ctx, m, row, m.dest_compute)

    def _roll_back(self, ctx, m, row, reason, started_at):
        """The destination failed (and removed what it made): bring the guest
        back on the source; the migration ends in error once it runs there."""
        with self.db.transaction() as session:
            db_actions.event_finish(session, m.instance_uuid, ctx.request_id,
                                    STEP_EVENTS["finished"], "Error", host=m.dest_compute,
                                    details=reason, start_time=started_at)
        if row is None or row.task_state != states.RESIZE_FINISH:
            return
        inst = instance_with_flavor(row, m.old_flavor)
        self.compute.finish_revert_resize(ctx, m.source_compute, inst, to_object(m))

    def _dest_reverted(self, ctx, m, row, ok, info, reason, started_at):
        if ok:
            if row is not None and row.task_state == states.RESIZE_REVERTING:
                inst = instance_with_flavor(row, m.old_flavor)
                self.compute.finish_revert_resize(ctx, m.source_compute, inst, to_object(m))
            return
        why = ("Reverting the resize failed on %s: %s. The server stays there with the "
               "new flavor; hard reboot or delete it." % (m.dest_compute, reason))
        self.settle(ctx, m.uuid, ms.ERROR, {"vm_state": states.ERROR, "task_state": None},
                    instance_tasks.step("revert_resize", "dest_failed").expects,
                    STEP_EVENTS["dest_reverted"], False, reason,
                    host=m.dest_compute, fault=why, started_at=started_at)
        self._cleanup(ctx, m, row, m.source_compute)

    def _reverted(self, ctx, m, row, ok, info, reason, started_at):
        event = STEP_EVENTS["reverted"]
        rollback = m.status == ms.POST_MIGRATING
        outcome = ms.ERROR if rollback else ms.REVERTED
        expected = (instance_tasks.step("cold_migration", "rolled_back") if rollback
                    else instance_tasks.step("revert_resize", "reverted")).expects

        def claims(session, m):
            if not rollback:  # the instance held the destination since finish
                db_claims.swap_consumers(session, m.instance_uuid, m.uuid)
            db_claims.release_in(session, m.uuid)

        if ok:
            power = info.get("power_state", states.NOSTATE)
            values = {"host": m.source_compute, "node": m.source_node,
                      "flavor": m.old_flavor, "task_state": None, "power_state": power,
                      "vm_state": states.resting_vm_state(power)}
            details = "rolled back to the source" if rollback else None
            self.settle(ctx, m.uuid, outcome, values, expected, event, not rollback,
                        details, host=m.source_compute, claims=claims,
                        started_at=started_at)
            return
        why = ("The server could not be restored on %s: %s. Its disk is kept there; "
               "hard reboot the server to retry, or delete it." % (m.source_compute, reason))
        values = {"host": m.source_compute, "node": m.source_node, "flavor": m.old_flavor,
                  "task_state": None, "vm_state": states.ERROR,
                  "power_state": states.NOSTATE}
        self.settle(ctx, m.uuid, ms.ERROR, values, expected, event, False, reason,
                    host=m.source_compute, claims=claims, fault=why, started_at=started_at)

    def _confirmed(self, ctx, m, row, ok, info, reason, started_at):
        details = None if ok else (
            "%s; the copy kept on %s is removed when its compute restarts"
            % (reason, m.source_compute))

        def values(m):
            power = row.power_state if row is not None else states.NOSTATE
            return {"task_state": None, "vm_state": states.resting_vm_state(power)}

        self.settle(ctx, m.uuid, ms.CONFIRMED, values,
                    instance_tasks.step("confirm_resize", "confirmed").expects,
                    STEP_EVENTS["confirmed"], ok, details, host=m.source_compute,
                    started_at=started_at)

    def _cleanup(self, ctx, m, row, host):
        if host:
            inst = instance_obj.Instance.from_db(row) if row is not None else _ref(m)
            self.compute.cleanup_resize(ctx, host, inst, to_object(m))


class StepResults:
    """Hands a compute's report of one step of a cold move to the handler of
    that step: ``steps`` maps each step name to ``f(ctx, migration row,
    instance row, ok, info, reason, started_at)`` (ResizeTask.steps and
    EvacuateTask.steps together, for the conductor's endpoint)."""

    def __init__(self, db, steps):
        self.db = db
        self.steps = dict(steps)

    def result(self, ctx, migration_uuid, step, ok, info, reason, started_at):
        handler = self.steps.get(step)
        if handler is None:
            LOG.warning("Unknown cold migration step %r for %s", step, migration_uuid)
            return
        with self.db.reader() as session:
            m = db_migrations.find(session, migration_uuid)
            row = m and db_instances.find(session, m.instance_uuid)
        if m is None:
            return
        handler(ctx, m, row, ok, info or {}, reason, started_at)


def _ref(m):
    """An instance object for cleaning up after a deleted instance."""
    return instance_obj.Instance(uuid=m.instance_uuid, host=None,
                                 flavor=flavor_obj.Flavor.from_values(dict(m.old_flavor)))
