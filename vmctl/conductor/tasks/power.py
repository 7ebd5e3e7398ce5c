"""Power actions (stop, start, reboot, pause, unpause, suspend, resume).

The API has already moved task_state (compare-and-swap from None, along
``states.ACTIONS``) and recorded the action; this forwards it to the
instance's compute and settles the result reported back.
"""

import logging

from vmctl import instance_states as states
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
            row = db_instances.find(session, uuid)
            if row is None:
                return
            inst = instance_obj.Instance.from_db(row)
        if row.task_state != row_state.task_state or not row.host:
            LOG.info("Not forwarding %s for %s: task_state is now %s", action, uuid,
                     row.task_state)
            return
        self.compute.run_action(ctx, row.host, inst, action)

    def sync(self, ctx, uuid, host, power_state):
        """A guest changed power state by itself (shut down from inside...).

        Applied only to an instance at rest on that host; a task in flight
        settles the state itself.
        """
        with self.db.transaction() as session:
            row = db_instances.find(session, uuid)
            if row is None:
                return
            if row.task_state is not None or row.host != host:
                return
            values = sync_values(row.vm_state, power_state)
            if db_instances.compare_and_swap(session, uuid, values, expected_task_state=None,
                                             expected_vm_states=[row.vm_state],
                                             expected_host=host) and "vm_state" in values:
                LOG.info("Instance %s is now %s (power state %s reported by %s)",
                         uuid, values["vm_state"], power_state, host)

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
                                    details=reason, start_time=started_at)
            db_actions.finish_action(session, uuid, ctx.request_id)


# (vm_state at rest, power state reported by itself) -> vm_state it means
_SELF_INFLICTED = {
    (states.ACTIVE, states.SHUTDOWN): states.STOPPED,
    (states.ACTIVE, states.CRASHED): states.STOPPED,
    (states.PAUSED, states.SHUTDOWN): states.STOPPED,
    (states.STOPPED, states.RUNNING): states.ACTIVE,
}


def sync_values(vm_state, power_state):
    """Columns to write when a resting guest changed power state by itself."""
    values = {"power_state": power_state}
    if (vm_state, power_state) in _SELF_INFLICTED:
        values["vm_state"] = _SELF_INFLICTED[(vm_state, power_state)]
    return values

