"""Healing cold moves whose messages were lost (see heal.py).

Every compute step of a cold move is idempotent, so a stalled move is
finished by sending its step again, from what the hosts report now:

  resize_prep            the conductor died while choosing a destination:
                         the migration ends in error, the server rests where
                         it is (the caller may try again)
  resize_migrating/_migrated/_finish
                         the destination is asked again what it needs and
                         the source to hand over the disk (it offers the copy
                         it kept); the flow goes on from there
  resize_confirming      confirmed again (without the source if it is down:
                         its start-up recovery drops the copy)
  resize_reverting       the source already runs the guest: settled as
                         reverted; else the destination is asked again
  rebuilding             not yet placed: error; placed: rebuilt again

A compute still busy with the instance, or not answering, is left alone
until the next round.
"""

import logging

import oslo_messaging as messaging

from vmctl import exception
from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl import migration_states as ms
from vmctl.conductor.tasks import resize
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.objects import instance as instance_obj

LOG = logging.getLogger(__name__)

TASKS = (states.RESIZE_PREP, states.RESIZE_MIGRATING, states.RESIZE_MIGRATED,
         states.RESIZE_FINISH, states.RESIZE_CONFIRMING, states.RESIZE_REVERTING,
         states.REBUILDING)
LOST = "The move was lost (a conductor stopped before the destination was chosen)."


class ResizeHealer:
    def __init__(self, deps, resizes, ends, evacuations):
        self.db = deps.db
        self.compute = deps.compute
        self.resizes = resizes
        self.ends = ends
        self.evacuations = evacuations

    def heal(self, ctx, row):
        with self.db.reader() as session:
            moves = db_migrations.unfinished_moves(session, row.uuid)
        if not moves:
            with self.db.transaction() as session:
                db_instances.compare_and_swap(session, row.uuid, {"task_state": None},
                                              expected_task_state=row.task_state)
            return
        m, task = moves[-1], row.task_state
        LOG.warning("Cold move %s of %s stalled (%s, %s); healing it", m.uuid, row.uuid,
                    task, m.status)
        try:
            self._heal(ctx, row, m, task)
        except messaging.MessagingTimeout:
            LOG.info("Cannot heal %s yet: a compute does not answer", row.uuid)

    def _heal(self, ctx, row, m, task):
        if task == states.RESIZE_PREP or (task == states.REBUILDING
                                          and m.status == ms.ACCEPTED):
            lost = instance_tasks.step("cold_migration" if task == states.RESIZE_PREP
                                       else "evacuate", "heal_lost")
            self.resizes.settle(ctx, m.uuid, ms.ERROR, {"task_state": None}, lost.expects,
                                resize.EVENT_PREP, False, LOST)
        elif task == states.REBUILDING:
            if not self._busy(ctx, m.dest_compute, row, m):
                self.evacuations.rebuild(ctx, row, m)
        elif task == states.RESIZE_CONFIRMING:
            self.ends.confirm(ctx, row.uuid, m.uuid)
        elif task == states.RESIZE_REVERTING:
            self._heal_revert(ctx, row, m)
        else:
            self._heal_move(ctx, row, m, task)

    def _busy(self, ctx, host, row, m):
        found = self.compute.describe_migration(ctx, host, instance_obj.Instance.from_db(row),
                                                resize.to_object(m))
        return found["busy"]

    def _heal_move(self, ctx, row, m, task):
        if self._busy(ctx, m.source_compute, row, m) or self._busy(ctx, m.dest_compute, row, m):
            return
        inst = resize.instance_with_flavor(row, m.new_flavor)
        try:
            info, refused = self.compute.prep_resize(ctx, m.dest_compute, inst,
                                                     resize.to_object(m)), None
        except exception.DestinationNotReady as exc:
            info, refused = None, exc.message
        resend = instance_tasks.step("cold_migration", "heal_resend")
        with self.db.transaction() as session:
            if task not in resend.expects or not db_instances.compare_and_swap(
                    session, row.uuid, {"task_state": resend.sets},
                    expected_task_state=task):
                return
        if refused is not None:
            self.resizes.result(ctx, m.uuid, "migrated", False, {},
                                "the destination refused: %s" % refused, None)
            return
        self.compute.resize_instance(ctx, m.source_compute, instance_obj.Instance.from_db(row),
                                     resize.to_object(m), info or {})

    def _heal_revert(self, ctx, row, m):
        inst = instance_obj.Instance.from_db(row)
        found = self.compute.describe_migration(ctx, m.source_compute, inst,
                                                resize.to_object(m))
        if found["busy"]:
            return
        if not found["held"] and found["power_state"] != states.NOSTATE:
            self.resizes.result(ctx, m.uuid, "reverted", True,
                                {"power_state": found["power_state"]}, None, None)
            return
        self.compute.revert_resize(ctx, m.dest_compute, inst, resize.to_object(m))
