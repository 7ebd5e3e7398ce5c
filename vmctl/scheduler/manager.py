"""The scheduler: filter, weigh, claim.

For each consumer the candidates are filtered and ordered by weight; the
best one is claimed atomically in the database (see vmctl.db.claims). A
claim lost to another scheduler moves on to the next candidate.
"""

import logging

import oslo_messaging as messaging

from vmctl import exception
from vmctl import manager
from vmctl import version
from vmctl.db import claims as db_claims
from vmctl.db import server_groups as db_groups
from vmctl.db import services as db_services
from vmctl.scheduler import filters
from vmctl.scheduler import host_state
from vmctl.scheduler import rpcapi
from vmctl.scheduler import weights

LOG = logging.getLogger(__name__)


class SchedulerManager(manager.Manager):
    target = messaging.Target(version=rpcapi.VERSION)

    def __init__(self, conf, db):
        self.conf = conf
        self.db = db
        self.host_states = host_state.HostStateCache(conf, db)

    def init_host(self):
        filters.enabled(self.conf.scheduler.enabled_filters)
        self.report_state()

    def report_state(self):
        db_services.heartbeat_or_register(self.db, self.conf.host, "vmctl-scheduler",
                                          self.conf.scheduler.topic, version.VERSION)

    def select_destinations(self, ctxt, spec, consumers, exclude_hosts, force_hosts=()):
        results = []
        with self.host_states.lock:
            for consumer in consumers:
                results.append(self._place_one(ctxt, spec, consumer, exclude_hosts,
                                               force_hosts))
        return results

    def _place_one(self, ctxt, spec, consumer, exclude_hosts, force_hosts):
        states = [s for s in self.host_states.get() if s.host not in exclude_hosts
                  and (not force_hosts or s.host in force_hosts)]
        spec = self._with_group(spec, consumer["instance_uuid"])
        passing, rejected = filters.filter_hosts(states, spec, self.conf.scheduler.enabled_filters)
        for state in weights.order_hosts(self.conf, passing, spec):
            try:
                db_claims.claim(self.db, state.node_id, consumer["consumer_uuid"],
                                consumer["instance_uuid"], spec["vcpus"],
                                spec["memory_mb"], spec["disk_gb"],
                                retries=self.conf.scheduler.max_claim_retries)
            except exception.ClaimFailed as exc:
                LOG.info("Claim on %s failed (%s); trying the next host", state.node, exc)
                self.host_states.refresh()
                continue
            state.consume(spec)
            return {"host": state.host, "node": state.node, "node_id": state.node_id}
        LOG.info("No valid host for %s among %d hosts (rejected: %s)",
                 consumer["instance_uuid"], len(states), rejected)
        return {"host": None, "reason": _why(states, rejected, exclude_hosts)}

    def _with_group(self, spec, instance_uuid):
        """``spec`` plus the server group of the instance, read fresh: every
        placement (a build, a reschedule, a move) honours the group, and
        the members placed a moment ago (claims) count already."""
        with self.db.reader() as session:
            group, _member = db_groups.group_of(session, instance_uuid)
            if group is None:
                return spec
            hosts = db_groups.member_hosts(session, group, instance_uuid)
            info = {"uuid": group.uuid, "policy": group.policy, "hosts": hosts,
                    "max_server_per_host": (group.rules or {}).get("max_server_per_host")}
        return dict(spec, group=info)


def _why(states, rejected, exclude_hosts):
    if not states:
        return ("There are not enough hosts available."
                + (" Hosts already tried: %s." % ", ".join(exclude_hosts) if exclude_hosts else ""))
    parts = ["%s rejected %d" % (name, count) for name, count in rejected.items()]
    return "There are not enough hosts available (%d considered; %s)." % (
        len(states), "; ".join(parts) or "claims failed")


def make_manager(conf, _transport):
    from vmctl.db import api as db_api
    return SchedulerManager(conf, db_api.Database.from_conf(conf))

