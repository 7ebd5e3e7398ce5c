"""Delete: terminate on the compute, then free the record and its claims.

The API has set task_state to deleting. An instance that never reached a
host, or whose compute service is down, is deleted locally (its compute
destroys any leftover guest when it comes back: see the agent's recovery).
"""

import logging

from vmctl import instance_tasks
from vmctl.db import actions as db_actions
from vmctl.db import claims as db_claims
from vmctl.db import instances as db_instances
from vmctl.db import services as db_services
from vmctl.objects import instance as instance_obj

LOG = logging.getLogger(__name__)

EVENT = "compute_terminate_instance"


class DeleteTask:
    def __init__(self, deps, after_delete=()):
        """``after_delete``: f(ctx, uuid) called once an instance is deleted:
        what other workflows (builds, cold moves) must free besides its own
        claims."""
        self.db = deps.db
        self.conf = deps.conf
        self.compute = deps.compute
        self.after_delete = tuple(after_delete)

    def start(self, ctx, uuid):
        with self.db.reader() as session:
            row = db_instances.find(session, uuid)
            if row is None:
                return
            inst = instance_obj.Instance.from_db(row)
            up = bool(row.host) and db_services.compute_is_up(session, row.host,
                                                              self.conf.service_down_time)
        if up:
            self.compute.terminate_instance(ctx, row.host, inst)
        else:
            if row.host:
                LOG.warning("Deleting %s locally: compute %s is down", uuid, row.host)
            self.finish(ctx, uuid, row.host, True, None, None)

    def finish(self, ctx, uuid, host, ok, reason, started_at):
        if ok:
            with self.db.transaction() as session:
                deleted = db_instances.soft_delete(session, uuid, only_if_deleting_on=host)
                if deleted:
                    db_actions.event_finish(session, uuid, ctx.request_id, EVENT, "Success",
                                            host=host, start_time=started_at)
                    db_actions.finish_action(session, uuid, ctx.request_id)
                    db_actions.finish_all_open(session, uuid,
                                               "The instance was deleted before this finished.")
                    db_claims.release_in(session, uuid)
            if deleted:
                for hook in self.after_delete:
                    hook(ctx, uuid)
            else:
                LOG.debug("Guest of %s removed from %s (not a delete)", uuid, host)
            return
        failed = instance_tasks.step("delete", "failed")
        with self.db.transaction() as session:
            if not db_instances.compare_and_swap(session, uuid,
                                                 {"vm_state": "error", "task_state": None},
                                                 expected_task_state=failed.expects,
                                                 expected_host=host):
                return
            db_instances.add_fault(session, uuid, 500, "Delete failed on %s: %s" % (host, reason),
                                   host=host)
            db_actions.event_finish(session, uuid, ctx.request_id, EVENT, "Error", host=host,
                                    details=reason, start_time=started_at)
            db_actions.finish_action(session, uuid, ctx.request_id)

