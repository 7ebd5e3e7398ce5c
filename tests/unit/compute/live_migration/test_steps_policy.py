"""The Nova-compatible ``steps`` policy: schedule, timeout, decision sequence."""

import dataclasses

import pytest

from vmctl.compute.live_migration import actions as act
from vmctl.compute.live_migration import config
from vmctl.compute.live_migration import policies
from vmctl.compute.live_migration import simulate
from vmctl.compute.live_migration import steps
from vmctl.virt import fake_live_model
from vmctl.virt import live_job

GiB = 1024 ** 3
STEPS = config.MigrationPolicy(policy="steps")


def test_schedule_matches_novas_documented_example():
    """nova.virt.libvirt.migration.downtime_steps docstring: 10 steps, 30 s
    delay, 3 GB of RAM, 400 ms maximum."""
    policy = config.MigrationPolicy(policy="steps", max_downtime_ms=400,
                                    downtime_steps=10, downtime_delay=30)
    assert steps.downtime_schedule(policy, 3) == (
        (0, 40), (90, 76), (180, 112), (270, 148), (360, 184), (450, 220),
        (540, 256), (630, 292), (720, 328), (810, 364), (900, 400))


def test_data_size_counts_ram_and_each_disk_as_at_least_2_gib():
    assert policies.MigrationFacts(memory_bytes=GiB).data_gib == 2
    assert policies.MigrationFacts(memory_bytes=3 * GiB).data_gib == 3
    facts = policies.MigrationFacts(memory_bytes=GiB, disk_bytes=(GiB, 10 * GiB))
    assert facts.data_gib == 2 + 2 + 10


def test_completion_timeout_per_gib():
    assert steps.completion_timeout_s(STEPS, 2) == 1600
    assert steps.completion_timeout_s(STEPS, 2.5) == 2000
    off = dataclasses.replace(STEPS, completion_timeout=0)
    assert steps.completion_timeout_s(off, 2) == 0


def _stats(**kw):
    return live_job.JobStats(memory_total=GiB, memory_remaining=GiB, **kw)


def test_steps_change_only_when_elapsed_is_strictly_past_the_mark():
    state = policies.start(STEPS, policies.MigrationFacts(memory_bytes=GiB))
    state, found = policies.decide(STEPS, state, _stats(), 0.0)
    assert found == []                         # Nova: elapsed > 0 is needed
    state, found = policies.decide(STEPS, state, _stats(), 0.5)
    assert [(a.kind, a.downtime_ms) for a in found] == [("set_downtime", 50)]
    state, found = policies.decide(STEPS, state, _stats(), 150.0)
    assert found == []
    state, found = policies.decide(STEPS, state, _stats(), 150.5)
    assert [a.downtime_ms for a in found] == [95]
    assert found[0].figures["step"] == 1


def _sequence(result):
    return [(t, a.kind, a.params()) for t, a in result.decisions]


NOVA_DEFAULT_STEPS = [(0.5 + 150 * i, "set_downtime", {"downtime_ms": 50 + 45 * i})
                      for i in range(11)]


def test_non_converging_exact_sequence_then_abort_at_the_timeout():
    result = simulate.run(STEPS, fake_live_model.FakeMigration(
        **simulate.WORKLOADS["non-converging"]))
    assert _sequence(result) == NOVA_DEFAULT_STEPS + [(1600.5, "abort", {})]
    assert result.status == "cancelled"


def test_hot_set_completes_at_the_step_that_fits():
    result = simulate.run(STEPS, fake_live_model.FakeMigration(
        **simulate.WORKLOADS["hot-set"]))
    assert _sequence(result) == NOVA_DEFAULT_STEPS[:9]   # 410 ms fits 400 ms
    assert result.status == "completed"
    assert 1200.5 < result.elapsed_s < 1202


@pytest.mark.parametrize("post_copy, kind", [(True, "start_postcopy"),
                                             (False, "force_complete")])
def test_timeout_force_complete(post_copy, kind):
    policy = dataclasses.replace(STEPS, timeout_action="force_complete",
                                 permit_post_copy=post_copy)
    result = simulate.run(policy, fake_live_model.FakeMigration(
        **simulate.WORKLOADS["non-converging"]))
    assert _sequence(result) == NOVA_DEFAULT_STEPS + [(1600.5, kind, {})]
    assert result.status == "completed"
    if post_copy:
        assert result.postcopy and result.downtime_ms == fake_live_model.POSTCOPY_DOWNTIME_MS
    else:
        assert result.paused and result.downtime_ms > 10_000   # paused ~10 s


def test_no_timeout_when_off_and_none_in_post_copy():
    policy = dataclasses.replace(STEPS, completion_timeout=0)
    state = policies.start(policy, policies.MigrationFacts(memory_bytes=GiB))
    state, found = policies.decide(policy, state, _stats(), 10_000.0)
    assert [a.kind for a in found] == ["set_downtime"]
    state = policies.start(STEPS, policies.MigrationFacts(memory_bytes=GiB))
    state, found = policies.decide(STEPS, state, _stats(postcopy=True), 10_000.0)
    assert found == [] and state.postcopy


def test_the_timeout_runs_once():
    state = policies.start(STEPS, policies.MigrationFacts(memory_bytes=GiB))
    state, found = policies.decide(STEPS, state, _stats(), 1600.5)
    assert [a.kind for a in found] == ["abort"]
    state, found = policies.decide(STEPS, state, _stats(), 1601.0)
    assert found == []


def test_paused_guest_is_never_post_copied_at_the_timeout():
    policy = dataclasses.replace(STEPS, timeout_action="force_complete",
                                 permit_post_copy=True)
    facts = policies.MigrationFacts(memory_bytes=GiB, guest_paused=True)
    state = policies.start(policy, facts)
    state, found = policies.decide(policy, state, _stats(), 1600.5)
    assert not any(isinstance(a, act.StartPostCopy) for a in found)
    assert not state.postcopy
