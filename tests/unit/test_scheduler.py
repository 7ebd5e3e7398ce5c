"""Scheduler filters and weighers: pure functions over host states."""

import types

import pytest

from vmctl.db import claims
from vmctl.scheduler import filters
from vmctl.scheduler import weights
from vmctl.scheduler.host_state import HostState

SPEC = {"vcpus": 2, "memory_mb": 2048, "disk_gb": 20, "availability_zone": None}


def host(name, **kw):
    values = dict(node_id=1, host=name, node=name, availability_zone="nova", vcpus=4,
                  memory_mb=8192, local_gb=100, vcpus_used=0, memory_mb_used=0,
                  local_gb_used=0, cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0,
                  disk_allocation_ratio=1.0, generation=0, service_up=True,
                  service_disabled=False)
    values.update(kw)
    return HostState(**values)


def conf(ram=1.0, cpu=1.0, soft=10.0):
    return types.SimpleNamespace(scheduler=types.SimpleNamespace(
        ram_weight_multiplier=ram, cpu_weight_multiplier=cpu,
        soft_affinity_weight_multiplier=soft,
        soft_anti_affinity_weight_multiplier=soft))


ALL = list(filters.ALL)


@pytest.mark.parametrize("state, rejected_by", [
    (host("down", service_up=False), "ComputeFilter"),
    (host("disabled", service_disabled=True), "ComputeFilter"),
    (host("full-ram", memory_mb_used=7000), "RamFilter"),
    (host("full-cpu", vcpus_used=3), "CoreFilter"),
    (host("full-disk", local_gb_used=90), "DiskFilter"),
])
def test_filters_reject(state, rejected_by):
    passing, rejected = filters.filter_hosts([state], SPEC, ALL)
    assert passing == [] and rejected == {rejected_by: 1}


def test_allocation_ratios_allow_overcommit():
    state = host("ratio", vcpus_used=3, cpu_allocation_ratio=2.0)
    passing, _ = filters.filter_hosts([state], SPEC, ALL)
    assert passing == [state]


def test_availability_zone():
    a, b = host("a", availability_zone="az1"), host("b", availability_zone="az2")
    passing, _ = filters.filter_hosts([a, b], dict(SPEC, availability_zone="az2"), ALL)
    assert passing == [b]


def test_unknown_filter_is_refused():
    with pytest.raises(ValueError, match="NoSuchFilter"):
        filters.enabled(["RamFilter", "NoSuchFilter"])


def test_spread_prefers_free_hosts_and_pack_the_fullest():
    empty, busy = host("empty"), host("busy", memory_mb_used=4096, vcpus_used=2)
    assert weights.order_hosts(conf(), [busy, empty]) == [empty, busy]
    assert weights.order_hosts(conf(ram=-1.0, cpu=-1.0), [empty, busy]) == [busy, empty]


def test_ties_are_broken_by_name():
    assert [s.host for s in weights.order_hosts(conf(), [host("b"), host("a")])] == ["a", "b"]


def test_consume_updates_cached_usage():
    state = host("a")
    state.consume(SPEC)
    assert (state.vcpus_used, state.memory_mb_used, state.local_gb_used, state.generation) == (2, 2048, 20, 1)


def test_claim_fits_matches_filters():
    assert claims.fits(host("a"), 2, 2048, 20) is None
    assert claims.fits(host("a", memory_mb_used=8000), 2, 2048, 20) == "not enough RAM"
