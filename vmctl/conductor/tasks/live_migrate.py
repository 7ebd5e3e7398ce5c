"""Live migration, the conductor's part: choose and check a destination,
hand the migration to the source compute, and settle how it ended.

  accepted  -> a destination is picked by the scheduler (source excluded,
               a named host still filtered) and claimed for the migration;
               both computes pre-check (hypervisor, CPU, storage, limits);
               a failed pre-check releases the claim and tries the next
               host, up to [conductor] live_migration_destination_attempts
  queued    -> cast to the source compute, which runs the rest (its queue,
               pre_live_migration on the destination, the hypervisor job
               and its monitor) and reports back here
  completed -> the instance now lives on the destination: host/node
               switched, the source claim released, the migration's
               destination claim becomes the instance's
  failed / cancelled / error -> the instance stays on the source; the
               destination claim is released

Every status change is a compare-and-swap along
migration_states.LIVE_TRANSITIONS; the instance's task_state goes back to
None on every end, and the instance action records every step.
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
from vmctl.objects import instance as instance_obj
from vmctl.objects import migration as migration_obj

LOG = logging.getLogger(__name__)

EVENT = "conductor_live_migrate_instance"
EVENT_COMPUTE = "compute_live_migration"


def to_object(row):
    return migration_obj.Migration.from_values(row)


class LiveMigrateTask:
    def __init__(self, deps):
        self.db = deps.db
        self.conf = deps.conf
        self.scheduler = deps.scheduler
        self.compute = deps.compute

    # --- accepted -> queued -------------------------------------------------
    def start(self, ctx, instance_uuid, migration_uuid, host, block_migration):
        with self.db.transaction() as session:
            row = db_instances.find(session, instance_uuid)
            migration = db_migrations.find(session, migration_uuid)
            if row is None or migration is None or migration.status != ms.ACCEPTED:
                return
            db_actions.event_start(session, instance_uuid, ctx.request_id, EVENT)
            source_up = db_services.compute_is_up(session, row.host,
                                                  self.conf.service_down_time)
            inst = instance_obj.Instance.from_db(row)
        if not source_up:
            self.finish(ctx, migration_uuid, ms.FAILED,
                        "The source compute %s is down." % row.host, event=EVENT)
            return
        dest, why = self._pick_destination(ctx, row, inst, migration_uuid, host,
                                           block_migration)
        if dest is None:
            self.finish(ctx, migration_uuid, ms.FAILED, why, event=EVENT)
            return
        self._hand_to_source(ctx, row, inst, migration_uuid, dest)

    def _pick_destination(self, ctx, row, inst, migration_uuid, host, block_migration):
        """(destination dict, None) or (None, why)."""
        tried, reasons = [row.host], []
        consumer = [{"consumer_uuid": migration_uuid, "instance_uuid": row.uuid}]
        source_info, why = self._source_info(ctx, row, inst)
        if why is not None:
            return None, "The source cannot live-migrate: %s" % why
        for _attempt in range(self.conf.conductor.live_migration_destination_attempts):
            try:
                placed = self.scheduler.select_destinations(
                    ctx, build.spec_for(row), consumer, exclude_hosts=tried,
                    force_hosts=[host] if host else None)[0]
            except messaging.MessagingException as exc:
                return None, "The scheduler failed: %s" % type(exc).__name__
            if placed.get("host") is None:
                reasons.append("No valid host was found. %s" % placed.get("reason", ""))
                break
            checked, refused = self._check_destination(ctx, placed, inst, block_migration,
                                                       source_info)
            if refused is None:
                placed["block_migration"] = _resolve_block(block_migration, checked)
                placed["skipped"] = reasons
                return placed, None
            db_claims.release(self.db, migration_uuid, node_id=placed["node_id"])
            tried.append(placed["host"])
            reasons.append("%s: %s" % (placed["host"], refused))
            if host:
                break
        return None, "No destination passed the pre-checks (%s)." % "; ".join(reasons)

    def _source_info(self, ctx, row, inst):
        """(what the destination needs to know of the source, None) or (None, why not)."""
        try:
            return self.compute.check_can_live_migrate_source(ctx, row.host, inst), None
        except exception.MigrationPreCheckError as exc:
            return None, exc.message
        except messaging.MessagingException as exc:
            return None, "%s did not answer (%s)" % (row.host, type(exc).__name__)

    def _check_destination(self, ctx, placed, inst, block_migration, source_info):
        """(the destination's answer, None) or (None, why it cannot take the guest)."""
        try:
            return self.compute.check_can_live_migrate_destination(
                ctx, placed["host"], inst, block_migration, source_info), None
        except exception.MigrationPreCheckError as exc:
            return None, exc.message
        except messaging.MessagingException as exc:
            return None, "did not answer (%s)" % type(exc).__name__

    def _hand_to_source(self, ctx, row, inst, migration_uuid, dest):
        with self.db.transaction() as session:
            moved = db_migrations.move(session, migration_uuid, ms.QUEUED, {
                "dest_compute": dest["host"], "dest_node": dest["node"],
                "block_migration": dest["block_migration"]}, expected=[ms.ACCEPTED])
            if moved:
                db_actions.event_finish(session, row.uuid, ctx.request_id, EVENT, "Success",
                                        details=_chosen(dest))
                migration = to_object(db_migrations.find(session, migration_uuid))
        if not moved:  # aborted while we looked for a destination
            db_claims.release(self.db, migration_uuid)
            return
        self.compute.live_migration(ctx, row.host, inst, migration)

    # --- reports from the source -----------------------------------------------
    def update(self, ctx, migration_uuid, status, progress, event):
        with self.db.transaction() as session:
            migration = db_migrations.find(session, migration_uuid)
            if migration is None:
                return False
            moved = True
            if status is not None:
                moved = db_migrations.move(session, migration, status)
            if progress:
                db_migrations.update_progress(session, migration_uuid, progress)
            if event:
                db_actions.event_finish(session, migration.instance_uuid, ctx.request_id,
                                        event["event"], event.get("result", "Success"),
                                        host=event.get("host"), details=event.get("details"),
                                        start_time=event.get("start_time"))
        return moved

    def finish(self, ctx, migration_uuid, outcome, reason=None, event=EVENT_COMPUTE,
               guest_lost=False, progress=None):
        """Settle the end of a migration: records, instance, claims, and the
        job's last figures (``progress``) when the source sent them.

        ``guest_lost``: the guest runs on neither host; the instance goes to
        ERROR with a fault saying so.
        """
        with self.db.transaction() as session:
            migration = db_migrations.find(session, migration_uuid)
            if migration is None or not db_migrations.move(session, migration, outcome):
                return
            if progress:
                db_migrations.update_progress(session, migration_uuid, progress)
            self._settle_instance(session, migration, outcome, guest_lost)
            if guest_lost:
                db_instances.add_fault(session, migration.instance_uuid, 500, reason,
                                       host=migration.source_compute)
            db_actions.event_finish(session, migration.instance_uuid, ctx.request_id, event,
                                    "Success" if outcome == ms.COMPLETED else "Error",
                                    host=migration.source_compute, details=reason)
            db_actions.finish_action(session, migration.instance_uuid, ctx.request_id)
            if outcome == ms.COMPLETED:
                db_claims.release_in(session, migration.instance_uuid)
                db_claims.move_consumer_in(session, migration_uuid, migration.instance_uuid)
            else:
                db_claims.release_in(session, migration_uuid)
        LOG.info("Live migration %s of %s: %s%s", migration_uuid, migration.instance_uuid,
                 outcome, " (%s)" % reason if reason else "")

    def _settle_instance(self, session, migration, outcome, guest_lost=False):
        values = {"task_state": None}
        if guest_lost:
            values["vm_state"] = states.ERROR
        if outcome == ms.COMPLETED:
            values.update(host=migration.dest_compute, node=migration.dest_node)
        end = instance_tasks.step("live_migration", "end")
        if not db_instances.compare_and_swap(session, migration.instance_uuid, values,
                                             expected_task_state=end.expects,
                                             expected_host=migration.source_compute):
            LOG.warning("Instance %s was not migrating from %s when its migration %s "
                        "ended", migration.instance_uuid, migration.source_compute,
                        migration.uuid)

    # --- operator requests ---------------------------------------------------------
    def abort(self, ctx, migration_uuid):
        with self.db.reader() as session:
            migration = db_migrations.find(session, migration_uuid)
        if migration is None or migration.status not in ms.ABORTABLE:
            return
        if migration.status == ms.ACCEPTED:
            self.finish(ctx, migration_uuid, ms.CANCELLED, "Aborted by the operator.",
                        event=EVENT)
            return
        self.compute.live_migration_abort(ctx, migration.source_compute, migration_uuid)

    def force_complete(self, ctx, migration_uuid):
        with self.db.reader() as session:
            migration = db_migrations.find(session, migration_uuid)
        if migration is not None and migration.status in ms.IN_PROGRESS:
            self.compute.live_migration_force_complete(ctx, migration.source_compute,
                                                       migration_uuid)


def _chosen(dest):
    details = "destination %s" % dest["host"]
    if dest.get("skipped"):
        details += " (skipped: %s)" % "; ".join(dest["skipped"])
    return details


def _resolve_block(requested, checked):
    if requested == "auto":
        return not checked.get("shared_storage", False)
    return bool(requested)

