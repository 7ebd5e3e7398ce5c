"""Server group filters (hard policies) and weighers (soft policies)."""

import collections
import types

import pytest

from tests.unit.test_scheduler import ALL
from tests.unit.test_scheduler import SPEC
from tests.unit.test_scheduler import conf
from tests.unit.test_scheduler import host
from vmctl.conductor.tasks import build
from vmctl.scheduler import filters
from vmctl.scheduler import weights


def spec(policy, max_per_host=None, **members):
    group = {"uuid": "g", "policy": policy, "max_server_per_host": max_per_host,
             "hosts": collections.Counter(members)}
    return dict(SPEC, group=group)


def names(states):
    return [s.host for s in states]


def test_anti_affinity_rejects_hosts_with_a_member():
    passing, rejected = filters.filter_hosts([host("a"), host("b")], spec("anti-affinity", a=1),
                                             ALL)
    assert names(passing) == ["b"]
    assert rejected == {"ServerGroupAntiAffinityFilter": 1}


@pytest.mark.parametrize("limit, on_a, passes", [(2, 1, True), (2, 2, False), (3, 2, True)])
def test_anti_affinity_max_server_per_host(limit, on_a, passes):
    passing, _ = filters.filter_hosts([host("a")], spec("anti-affinity", limit, a=on_a), ALL)
    assert (names(passing) == ["a"]) is passes


def test_affinity_keeps_the_members_host_only():
    passing, rejected = filters.filter_hosts([host("a"), host("b")], spec("affinity", b=2), ALL)
    assert names(passing) == ["b"] and rejected == {"ServerGroupAffinityFilter": 1}


def test_first_affinity_member_goes_anywhere():
    passing, _ = filters.filter_hosts([host("a"), host("b")], spec("affinity"), ALL)
    assert names(passing) == ["a", "b"]


@pytest.mark.parametrize("policy", ["soft-affinity", "soft-anti-affinity"])
def test_soft_policies_filter_nothing(policy):
    passing, _ = filters.filter_hosts([host("a"), host("b")], spec(policy, a=1, b=1), ALL)
    assert names(passing) == ["a", "b"]


def test_soft_affinity_beats_spreading():
    busy, empty = host("busy", memory_mb_used=4096, vcpus_used=2), host("empty")
    ordered = weights.order_hosts(conf(), [empty, busy], spec("soft-affinity", busy=1))
    assert names(ordered) == ["busy", "empty"]
    # Without the group the resource weighers spread to the empty host.
    assert names(weights.order_hosts(conf(), [empty, busy], SPEC)) == ["empty", "busy"]


def test_soft_anti_affinity_beats_packing():
    busy, empty = host("busy", memory_mb_used=4096, vcpus_used=2), host("empty")
    ordered = weights.order_hosts(conf(ram=-1.0, cpu=-1.0), [busy, empty],
                                  spec("soft-anti-affinity", busy=1))
    assert names(ordered) == ["empty", "busy"]


def test_soft_weight_off_when_multiplier_zero():
    busy, empty = host("busy", memory_mb_used=4096, vcpus_used=2), host("empty")
    ordered = weights.order_hosts(conf(soft=0.0), [empty, busy], spec("soft-affinity", busy=1))
    assert names(ordered) == ["empty", "busy"]


# --- the compute's late check (conductor side) --------------------------------

def _late(policy, host, rules=None, **others):
    group = types.SimpleNamespace(uuid="g", policy=policy, rules=rules or {})
    return build._group_violation(group, collections.Counter(others), host)


@pytest.mark.parametrize("policy, rules, others, host, violated", [
    ("anti-affinity", None, {"a": 1}, "a", True),
    ("anti-affinity", None, {"a": 1}, "b", False),
    ("anti-affinity", {"max_server_per_host": 2}, {"a": 1}, "a", False),
    ("anti-affinity", {"max_server_per_host": 2}, {"a": 2}, "a", True),
    ("affinity", None, {}, "a", False),
    ("affinity", None, {"a": 2}, "a", False),
    ("affinity", None, {"a": 2}, "b", True),
    ("soft-anti-affinity", None, {"a": 3}, "a", False),
    ("soft-affinity", None, {"a": 3}, "b", False),
])
def test_late_check(policy, rules, others, host, violated):
    reason = _late(policy, host, rules, **others)
    assert bool(reason) is violated
    if violated:
        assert "instance group policy was violated" in reason
