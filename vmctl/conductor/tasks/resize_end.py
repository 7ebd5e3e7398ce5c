"""The end of a resize or cold migration: confirm, revert, auto-confirm,
and what a delete in the middle of a move leaves to free.

confirmResize and revertResize have moved the instance (resized, None ->
resize_confirming / resize_reverting) and the migration (finished ->
confirming / reverting) in the API's transaction; these hand them to the
computes, whose reports are settled by ResizeTask (resize.py).
"""

import datetime
import logging

from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl import migration_states as ms
from vmctl.conductor.tasks import resize
from vmctl.db import actions as db_actions
from vmctl.db import claims as db_claims
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.db import models
from vmctl.db import services as db_services
from vmctl.objects import instance as instance_obj

LOG = logging.getLogger(__name__)

EVENT_CONFIRM = "conductor_confirm_resize"


class ResizeEndTask:
    def __init__(self, deps, resizes):
        self.db = deps.db
        self.conf = deps.conf
        self.compute = deps.compute
        self.resizes = resizes

    def _load(self, instance_uuid, migration_uuid, task_state, status):
        with self.db.reader() as session:
            row = db_instances.find(session, instance_uuid)
            m = db_migrations.find(session, migration_uuid)
            if row is None or m is None or row.task_state != task_state or m.status != status:
                return None, None, False
            up = db_services.compute_is_up(session, m.source_compute,
                                               self.conf.service_down_time)
        return row, m, up

    def confirm(self, ctx, instance_uuid, migration_uuid):
        row, m, source_up = self._load(instance_uuid, migration_uuid,
                                       states.RESIZE_CONFIRMING, ms.CONFIRMING)
        if row is None:
            return
        if not source_up:
            # The copy on the source is dropped by its start-up recovery.
            LOG.info("Confirming %s without %s (down)", migration_uuid, m.source_compute)
            self.resizes.result(ctx, migration_uuid, "confirmed", False, {},
                                "compute %s is down" % m.source_compute, None)
            return
        self.compute.confirm_resize(ctx, m.source_compute, instance_obj.Instance.from_db(row),
                                    resize.to_object(m))

    def revert(self, ctx, instance_uuid, migration_uuid):
        row, m, _up = self._load(instance_uuid, migration_uuid,
                                 states.RESIZE_REVERTING, ms.REVERTING)
        if row is None:
            return
        self.compute.revert_resize(ctx, m.dest_compute, instance_obj.Instance.from_db(row),
                                   resize.to_object(m))

    # --- [DEFAULT] resize_confirm_window -----------------------------------------------
    def auto_confirm(self, make_context):
        window = self.conf.resize_confirm_window
        if not window:
            return
        cutoff = models.utcnow() - datetime.timedelta(seconds=window)
        with self.db.reader() as session:
            waiting = db_migrations.finished_before(session, cutoff)
        for m in waiting:
            ctx = make_context(None)
            if start_confirm(self.db, ctx, m.instance_uuid, m.uuid, "confirmResize"):
                LOG.info("Confirming %s of %s: waited more than %ss", m.migration_type,
                         m.instance_uuid, window)
                self.confirm(ctx, m.instance_uuid, m.uuid)

    # --- a deleted instance ---------------------------------------------------------------
    def instance_deleted(self, ctx, instance_uuid):
        """Free what unfinished cold moves of a deleted instance hold: the
        migration's claims and whatever either host keeps."""
        with self.db.transaction() as session:
            moves = [m for m in db_migrations.unfinished_moves(session, instance_uuid)
                     if m.migration_type != ms.EVACUATION]
            for m in moves:
                if m.status == ms.FINISHED:
                    db_migrations.move(session, m.uuid, ms.CONFIRMING)
                    db_migrations.move(session, m.uuid, ms.CONFIRMED)
                else:
                    db_migrations.move(session, m.uuid, ms.ERROR)
                db_claims.release_in(session, m.uuid)
        for m in moves:
            for host in {m.source_compute, m.dest_compute} - {None}:
                self.compute.cleanup_resize(ctx, host, resize._ref(m), resize.to_object(m))

    def moves_on_host(self, host):
        """For a compute's start-up recovery: its unfinished moves."""
        with self.db.reader() as session:
            moves = db_migrations.unfinished_moves(session, host=host)
            hosts = {m.instance_uuid: getattr(db_instances.find(session, m.instance_uuid),
                                              "host", None) for m in moves}
        return [{"uuid": m.uuid, "instance_uuid": m.instance_uuid,
                 "migration_type": m.migration_type, "status": m.status,
                 "source_compute": m.source_compute, "dest_compute": m.dest_compute,
                 "instance_host": hosts[m.instance_uuid]} for m in moves]


def start_confirm(db, ctx, instance_uuid, migration_uuid, action):
    """resized/None -> resize_confirming and finished -> confirming, together;
    records the instance action. False if either had moved on."""
    with db.transaction() as session:
        if not db_migrations.begin_resize_end(session, instance_uuid, migration_uuid,
                                              instance_tasks.step("confirm_resize", "start"),
                                              ms.CONFIRMING):
            return False
        db_actions.start(session, ctx, instance_uuid, action)
        db_actions.event_start(session, instance_uuid, ctx.request_id, EVENT_CONFIRM)
        db_actions.event_finish(session, instance_uuid, ctx.request_id, EVENT_CONFIRM,
                                "Success")
    return True
