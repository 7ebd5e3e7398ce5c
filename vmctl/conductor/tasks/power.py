"""Power actions (stop, start, reboot, pause, unpause, suspend, resume).

The API has already moved task_state (compare-and-swap from None, along
``states.ACTIONS``) and recorded the action; this forwards it to the
instance's compute and settles the result reported back.
"""

import logging

from vmctl import exception
from vmctl import states
from vmctl.compute import manager as compute_manager
from vmctl.db import actions as db_actions
from vmctl.db import instances as db_instances
from vmctl.objects import instance as instance_obj

LOG = logging.getLogger(__name__)


def event_name(action):
    return compute_manager.DRIVER_CALLS[action][1]


class PowerTask:
    def __init__(self, deps):
        self.db = deps.db
        self.compute = deps.compute

    def forward(self, ctx, uuid, action):
        row_state = states.ACTIONS[action]
        with self.db.reader() as session:
            try:
                row = db_instances.get(session, uuid)
            except exception.InstanceNotFound:
                return
            inst = instance_obj.Instance.from_db(row)
        if row.task_state != row_state.task_state or not row.host:
            LOG.info("Not forwarding %s for %s: task_state is now %s", action, uuid,
                     row.task_state)
            return
        self.compute.run_action(ctx, row.host, inst, action)

    def result(self, ctx, uuid, host, action, ok, power_state, reason, started_at):
        row_state = states.ACTIONS[action]
        values = {"task_state": None, "power_state": power_state}
        if ok:
            values["vm_state"] = row_state.to_vm_state
        with self.db.transaction() as session:
            if not db_instances.compare_and_swap(session, uuid, values,
                                                 expected_task_state=row_state.task_state):
                LOG.info("%s of %s finished after the instance moved on", action, uuid)
            db_actions.event_finish(session, uuid, ctx.request_id, event_name(action),
                                    "Success" if ok else "Error", host=host,
                                    details=reason, start_time=_parse(started_at))
            db_actions.finish_action(session, uuid, ctx.request_id)


def _parse(stamp):
    import datetime
    return datetime.datetime.fromisoformat(stamp) if stamp else None
