"""Evacuate: rebuild a server on another host when its own is dead.

The API has checked that the instance's compute service is down (or
forced down), set task_state rebuilding and written the migration
(evacuation, accepted). Along migration_states.EVACUATION_TRANSITIONS:

  accepted       the scheduler picks and claims a destination (the old host
                 excluded; a named host still filtered), consumer = the
                 migration; no valid host -> error, the instance untouched
  pre-migrating  the destination rebuilds the guest from its image
  done           host/node switched, ACTIVE (SHUTOFF when the migration
                 says keep_stopped, 2.95); the old host's claim released
                 and the migration's claim becomes the instance's
  completed      the old host's compute came back and destroyed what it
                 still had of the instance (compute/cold_migration.py,
                 ``recover``), leaving the new copy alone
  error          the rebuild failed: the instance is in ERROR with a fault
"""

import logging

import oslo_messaging as messaging

from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl import migration_states as ms
from vmctl.conductor.tasks import build
from vmctl.conductor.tasks import resize
from vmctl.db import actions as db_actions
from vmctl.db import claims as db_claims
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.objects import instance as instance_obj

LOG = logging.getLogger(__name__)

EVENT_SCHEDULE = "conductor_rebuild_server"
EVENT_REBUILD = "compute_rebuild_instance"


class EvacuateTask:
    def __init__(self, deps, resizes):
        self.db = deps.db
        self.conf = deps.conf
        self.scheduler = deps.scheduler
        self.compute = deps.compute
        self.resizes = resizes
        self.steps = {"rebuilt": self._rebuilt, "cleaned": self._cleaned}

    def start(self, ctx, instance_uuid, migration_uuid, host):
        with self.db.transaction() as session:
            row = db_instances.find(session, instance_uuid)
            m = db_migrations.find(session, migration_uuid)
            if (row is None or m is None or m.status != ms.ACCEPTED
                    or row.task_state != states.REBUILDING):
                return
            db_actions.event_start(session, instance_uuid, ctx.request_id, EVENT_SCHEDULE)
        placed, why = self._schedule(ctx, row, m, host)
        if placed is None:
            self.resizes.settle(ctx, migration_uuid, ms.ERROR, {"task_state": None},
                                instance_tasks.step("evacuate", "no_host").expects,
                                EVENT_SCHEDULE, False, why)
            return
        with self.db.transaction() as session:
            moved = db_migrations.move(session, migration_uuid, ms.PRE_MIGRATING, {
                "dest_compute": placed["host"], "dest_node": placed["node"]},
                expected=[ms.ACCEPTED])
            if moved:
                db_actions.event_finish(session, instance_uuid, ctx.request_id,
                                        EVENT_SCHEDULE, "Success",
                                        details="destination %s" % placed["host"])
                m = db_migrations.find(session, migration_uuid)
        if not moved:
            db_claims.release(self.db, migration_uuid)
            return
        self.rebuild(ctx, row, m)

    def rebuild(self, ctx, row, m):
        inst = instance_obj.Instance.from_db(row)
        inst.host, inst.node = m.dest_compute, m.dest_node
        # The state the rebuilt guest is to rest in: the compute powers it
        # off again for "stopped" (2.95); older evacuations come back active.
        inst.vm_state = states.STOPPED if m.keep_stopped else states.ACTIVE
        self.compute.rebuild_instance(ctx, m.dest_compute, inst, resize.to_object(m))

    def _schedule(self, ctx, row, m, host):
        consumer = [{"consumer_uuid": m.uuid, "instance_uuid": row.uuid}]
        try:
            placed = self.scheduler.select_destinations(
                ctx, build.spec_for(row), consumer, exclude_hosts=[row.host],
                force_hosts=[host] if host else None)[0]
        except messaging.MessagingException as exc:
            return None, "The scheduler failed: %s" % type(exc).__name__
        if placed.get("host") is None:
            return None, "No valid host was found. %s" % placed.get("reason", "")
        return placed, None

    def _rebuilt(self, ctx, m, row, ok, info, reason, started_at):
        if not ok:
            why = ("Evacuation to %s failed: %s. The server is still recorded on %s; "
                   "evacuate it again or delete it." % (m.dest_compute, reason,
                                                        m.source_compute))
            self.resizes.settle(ctx, m.uuid, ms.ERROR,
                                {"vm_state": states.ERROR, "task_state": None},
                                instance_tasks.step("evacuate", "failed").expects,
                                EVENT_REBUILD, False, reason,
                                host=m.dest_compute, fault=why, started_at=started_at)
            return
        power = info.get("power_state", states.NOSTATE)
        values = {"host": m.dest_compute, "node": m.dest_node, "task_state": None,
                  "vm_state": states.resting_vm_state(power), "power_state": power}

        def claims(session, m):
            db_claims.release_in(session, m.instance_uuid)
            db_claims.move_consumer_in(session, m.uuid, m.instance_uuid)

        settled = self.resizes.settle(ctx, m.uuid, ms.DONE, values,
                                      instance_tasks.step("evacuate", "rebuilt").expects,
                                      EVENT_REBUILD, True, host=m.dest_compute,
                                      claims=claims, started_at=started_at)
        with self.db.reader() as session:
            now = db_instances.find(session, m.instance_uuid)
        if settled is None or now is None or now.host != m.dest_compute:
            LOG.info("Evacuation of %s finished after the instance moved on; removing "
                     "the rebuilt guest from %s", m.instance_uuid, m.dest_compute)
            inst = resize._ref(m)
            inst.host = m.dest_compute
            self.compute.terminate_instance(ctx, m.dest_compute, inst)

    def _cleaned(self, ctx, m, row, ok, info, reason, started_at):
        with self.db.transaction() as session:
            if db_migrations.move(session, m.uuid, ms.COMPLETED, expected=[ms.DONE]):
                LOG.info("Evacuation %s of %s completed: %s cleaned up", m.uuid,
                         m.instance_uuid, m.source_compute)

    def instance_deleted(self, ctx, instance_uuid):
        """A deleted instance's evacuation still under way ends in error."""
        with self.db.transaction() as session:
            for m in db_migrations.unfinished_moves(session, instance_uuid):
                if m.migration_type == ms.EVACUATION and m.status != ms.DONE:
                    db_migrations.move(session, m.uuid, ms.ERROR)
                    db_claims.release_in(session, m.uuid)
