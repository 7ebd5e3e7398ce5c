"""Build: schedule and claim, hand each instance to its compute, and
reschedule (bounded) when a compute fails to spawn it.

Steps, each with an instance action event:
  conductor_schedule_and_build_instances  scheduler call, claims, host set
  compute_build_and_run_instance          reported back by the compute
Failure at any step ends with the instance in ERROR and a fault saying why;
claims are released on every failure path.
"""

import logging

import oslo_messaging as messaging

from vmctl import exception
from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl.db import actions as db_actions
from vmctl.db import claims as db_claims
from vmctl.db import instances as db_instances
from vmctl.db import models
from vmctl.db import server_groups as db_groups
from vmctl.objects import flavor as flavor_obj
from vmctl.objects import instance as instance_obj
from vmctl.scheduler.filters import server_group as group_rules

LOG = logging.getLogger(__name__)

SCHEDULE_EVENT = "conductor_schedule_and_build_instances"
SPAWN_EVENT = "compute_build_and_run_instance"


def spec_for(row, flavor=None):
    """What the scheduler places: the instance's flavor (or ``flavor``, a
    resize's new one) in the instance's availability zone."""
    flavor = flavor or row.flavor
    return {"vcpus": flavor["vcpus"], "memory_mb": flavor["memory_mb"],
            "disk_gb": flavor_obj.disk_gb(flavor),
            "availability_zone": row.availability_zone}


def requested_hosts(row):
    """The only host a build may use (2.74), as force_hosts: a reschedule
    keeps to it too, so a second failure there is "No valid host"."""
    return [row.requested_host] if row.requested_host else None


class BuildTask:
    def __init__(self, deps):
        self.db = deps.db
        self.conf = deps.conf
        self.scheduler = deps.scheduler
        self.compute = deps.compute

    def schedule_and_build(self, ctx, instance_uuids, attempt_hosts):
        with self.db.transaction() as session:
            rows = [r for r in (db_instances.find(session, u) for u in instance_uuids)
                    if r is not None and r.task_state == states.SCHEDULING]
            for row in rows:
                db_actions.event_start(session, row.uuid, ctx.request_id, SCHEDULE_EVENT)
        if not rows:
            return
        consumers = [{"consumer_uuid": r.uuid, "instance_uuid": r.uuid} for r in rows]
        try:
            results = self.scheduler.select_destinations(
                ctx, spec_for(rows[0]), consumers, attempt_hosts,
                force_hosts=requested_hosts(rows[0]))
        except messaging.MessagingTimeout:
            LOG.error("Scheduler did not answer for %s", instance_uuids)
            results = [{"host": None, "reason": "The scheduler did not answer in time."}] * len(rows)
        except messaging.MessagingException as exc:
            LOG.error("Scheduler failed for %s: %s", instance_uuids, exc)
            results = [{"host": None, "reason": "The scheduler failed: %s" % type(exc).__name__}] * len(rows)
        casts, orphans = [], []
        with self.db.transaction() as session:
            for row, result in zip(rows, results):
                cast = self._apply_placement(ctx, session, row, result, attempt_hosts)
                if cast:
                    casts.append(cast)
                elif result.get("host"):
                    orphans.append((row.uuid, result["node_id"]))
        for uuid, node_id in orphans:
            # Deleted (or placed by another conductor) meanwhile: give back
            # the claim this placement made, and only that one.
            LOG.info("Instance %s went away while it was scheduled", uuid)
            db_claims.release(self.db, uuid, node_id=node_id)
        with self.db.reader() as session:
            groups = db_groups.groups_of(session, [inst.uuid for _h, inst, _n, _t in casts])
        for host, inst, node, tried in casts:
            self.compute.build_and_run_instance(ctx, host, inst, node, tried,
                                                server_group=groups.get(inst.uuid))

    def _apply_placement(self, ctx, session, row, result, attempt_hosts):
        if result.get("host") is None:
            reason = result.get("reason") or ""
            self._fail(ctx, session, row.uuid, instance_tasks.step("build", "no_valid_host"),
                       SCHEDULE_EVENT, exception.NoValidHost(reason=reason).message,
                       attempt_hosts[-1] if attempt_hosts else None)
            return None
        placed = instance_tasks.step("build", "placed")
        swapped = db_instances.compare_and_swap(
            session, row.uuid, {"host": result["host"], "node": result["node"],
                                "task_state": placed.sets},
            expected_task_state=placed.expects)
        if not swapped:
            return None
        db_actions.event_finish(session, row.uuid, ctx.request_id, SCHEDULE_EVENT, "Success")
        row.host, row.node, row.task_state = result["host"], result["node"], placed.sets
        inst = instance_obj.Instance.from_db(row)
        return result["host"], inst, result["node"], list(attempt_hosts) + [result["host"]]

    def _fail(self, ctx, session, uuid, failed, event, message, host):
        """ERROR with a fault (``failed``: the instance_tasks step); the
        instance is on no host (nothing runs it)."""
        if not db_instances.compare_and_swap(
                session, uuid, {"vm_state": states.ERROR, "task_state": None,
                                "host": None, "node": None},
                expected_task_state=failed.expects):
            return
        db_instances.add_fault(session, uuid, 500, message, host=host)
        if event:
            db_actions.event_finish(session, uuid, ctx.request_id, event, "Error",
                                    host=host, details=message)
        db_actions.finish_action(session, uuid, ctx.request_id)

    def build_result(self, ctx, uuid, host, node, ok, power_state, reason,
                     attempt_hosts, started_at):
        start = started_at
        if ok:
            self._built(ctx, uuid, host, power_state, start)
        else:
            self._build_failed(ctx, uuid, host, reason, attempt_hosts, start)

    def _built(self, ctx, uuid, host, power_state, start):
        with self.db.transaction() as session:
            swapped = db_instances.compare_and_swap(
                session, uuid, {"vm_state": states.ACTIVE, "task_state": None,
                                "power_state": power_state,
                                "launched_at": models.utcnow()},
                expected_task_state=instance_tasks.step("build", "spawned").expects,
                expected_host=host)
            if swapped:
                db_actions.event_finish(session, uuid, ctx.request_id, SPAWN_EVENT,
                                        "Success", host=host, start_time=start)
                db_actions.finish_action(session, uuid, ctx.request_id)
                return
            row = db_instances.find(session, uuid)
        if row is not None and row.host == host and row.task_state != states.DELETING:
            LOG.debug("Duplicate build report for %s from %s", uuid, host)
            return
        # Deleted during the spawn, or a stale build of an instance since
        # rescheduled elsewhere: the guest must not outlive its record.
        LOG.info("Instance %s is no longer being built on %s; removing the guest", uuid, host)
        self.compute.terminate_instance(ctx, host, _ref(uuid, host))

    def _build_failed(self, ctx, uuid, host, reason, attempt_hosts, start):
        retry = len(attempt_hosts) < self.conf.scheduler.max_attempts
        failed = instance_tasks.step("build", "reschedule" if retry else "spawn_failed")
        if retry:
            values = {"host": None, "node": None, "task_state": failed.sets}
        else:
            values = {"host": None, "node": None, "task_state": None,
                      "vm_state": states.ERROR}
        with self.db.transaction() as session:
            db_actions.event_finish(session, uuid, ctx.request_id, SPAWN_EVENT, "Error",
                                    host=host, details=reason, start_time=start)
            moved = db_instances.compare_and_swap(session, uuid, values,
                                                  expected_task_state=failed.expects,
                                                  expected_host=host)
            if moved:
                db_claims.release_in(session, uuid)
            if moved and not retry:
                message = ("Build of instance %s failed on %s: %s. Exceeded maximum "
                           "number of retries (%d)." % (uuid, host, reason,
                                                        self.conf.scheduler.max_attempts))
                db_instances.add_fault(session, uuid, 500, message, host=host)
                db_actions.finish_action(session, uuid, ctx.request_id)
        if not moved:
            # Deleted meanwhile (the delete frees the claims) or a stale report.
            return
        if retry:
            LOG.info("Rescheduling %s after failure on %s: %s", uuid, host, reason)
            self.schedule_and_build(ctx, [uuid], attempt_hosts)


    # --- server groups -----------------------------------------------------
    def check_server_group(self, uuid, host):
        """The compute's late check before it spawns ``uuid`` on ``host``:
        the group's hard policy against the members that joined before this
        one (so of two racing members the later one moves, never both)."""
        with self.db.reader() as session:
            group, member = db_groups.group_of(session, uuid)
            if group is None:
                return None
            others = db_groups.member_hosts(session, group, uuid, joined_before=member.id)
            return _group_violation(group, others, host)

    def instance_deleted(self, ctx, uuid):
        """A deleted server leaves its group."""
        with self.db.transaction() as session:
            db_groups.remove_member(session, uuid)


def _group_violation(group, others, host):
    if group.policy == group_rules.ANTI_AFFINITY:
        limit = (group.rules or {}).get("max_server_per_host")
        if not group_rules.anti_affinity_allows(others, host, limit):
            return ("Anti-affinity instance group policy was violated: server group "
                    "%s already has %d member(s) on %s." % (group.uuid, others[host], host))
    elif (group.policy == group_rules.AFFINITY
          and not group_rules.affinity_allows(others, host)):
        return ("Affinity instance group policy was violated: the members of server "
                "group %s are on %s." % (group.uuid, ", ".join(sorted(others))))
    return None


def _ref(uuid, host):
    inst = instance_obj.Instance(uuid=uuid, host=host)
    return inst

