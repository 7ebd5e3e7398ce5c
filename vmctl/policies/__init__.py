"""Policy defaults in code (oslo.policy), one module per API resource.

``list_rules`` feeds oslopolicy-sample-generator (entry point
``oslo.policy.policies = vmctl``); ``make_enforcer`` builds the enforcer the
API passes to its handlers.
"""

import itertools

from oslo_policy import policy

from vmctl.policies import aggregates
from vmctl.policies import availability_zones
from vmctl.policies import base
from vmctl.policies import cold_moves
from vmctl.policies import flavors
from vmctl.policies import hypervisors
from vmctl.policies import identity
from vmctl.policies import images
from vmctl.policies import instance_actions
from vmctl.policies import live_migrations
from vmctl.policies import migrations
from vmctl.policies import server_actions
from vmctl.policies import server_groups
from vmctl.policies import servers
from vmctl.policies import services

MODULES = (base, flavors, servers, server_actions, instance_actions, services,
           hypervisors, images, live_migrations, migrations, cold_moves, identity,
           server_groups, availability_zones, aggregates)


def list_rules():
    return list(itertools.chain.from_iterable(m.list_rules() for m in MODULES))


def make_enforcer(conf):
    """An Enforcer with the defaults registered. Rules in ``[oslo_policy]
    policy_file`` (or the deprecated ``[api] policy_file``) override them."""
    enforcer = policy.Enforcer(conf, policy_file=conf.api.policy_file)
    enforcer.register_defaults(list_rules())
    return enforcer
