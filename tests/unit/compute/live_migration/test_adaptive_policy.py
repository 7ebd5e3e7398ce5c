"""The ``adaptive`` policy against the modelled workloads and on its own."""

import dataclasses
import math

import pytest

from vmctl.compute.live_migration import actions as act
from vmctl.compute.live_migration import adaptive
from vmctl.compute.live_migration import config
from vmctl.compute.live_migration import policies
from vmctl.compute.live_migration import simulate
from vmctl.virt import fake_live_model
from vmctl.virt import live_job

MiB = 1024 ** 2
GiB = 1024 ** 3
ADAPTIVE = config.MigrationPolicy()
SLACK_MS = fake_live_model.SWITCHOVER_MS   # device state, beyond QEMU's limit


def _run(policy, workload, seed=0, **kw):
    args = dict(simulate.WORKLOADS[workload], seed=seed)
    args.update(kw)
    return simulate.run(policy, fake_live_model.FakeMigration(**args))


@pytest.mark.parametrize("workload", ["converging", "slow-converging", "hot-set"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_converging_cases_complete_within_the_maximum(workload, seed):
    result = _run(ADAPTIVE, workload, seed)
    assert result.status == "completed"
    assert result.downtime_ms <= ADAPTIVE.max_downtime_ms + SLACK_MS
    assert not result.postcopy and not result.paused and result.throttle_percent == 0
    assert all(a.downtime_ms <= ADAPTIVE.max_downtime_ms
               for _, a in result.decisions if isinstance(a, act.SetDowntime))


def test_fast_converging_guest_keeps_the_small_downtime():
    """One more pass halves the downtime for less time than it saves."""
    steps = _run(dataclasses.replace(ADAPTIVE, policy="steps"), "converging")
    result = _run(ADAPTIVE, "converging")
    assert result.downtime_ms == steps.downtime_ms
    assert result.kinds() == ["set_downtime"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slow_converging_is_faster_than_steps(seed):
    steps = _run(dataclasses.replace(ADAPTIVE, policy="steps"), "slow-converging", seed)
    result = _run(ADAPTIVE, "slow-converging", seed)
    assert steps.status == result.status == "completed"
    assert result.elapsed_s < steps.elapsed_s


def test_hot_set_switches_in_seconds_where_steps_takes_twenty_minutes():
    steps = _run(dataclasses.replace(ADAPTIVE, policy="steps"), "hot-set")
    result = _run(ADAPTIVE, "hot-set")
    assert steps.elapsed_s > 1200 and result.elapsed_s < 15
    assert result.table() == [(0.5, "set_downtime", {"downtime_ms": 50}),
                              (11.0, "set_downtime", {"downtime_ms": 440})]


VARIANTS = {
    "defaults": {},
    "post-copy": {"permit_post_copy": True},
    "auto-converge": {"permit_auto_converge": True},
    "force_complete": {"timeout_action": "force_complete"},
    "post-copy+force_complete": {"permit_post_copy": True,
                                 "timeout_action": "force_complete"},
    "hard cap": {"hard_max_downtime_ms": 1000},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("workload", sorted(simulate.WORKLOADS))
def test_adaptive_completes_whatever_steps_completes(workload, variant):
    base = config.MigrationPolicy(**VARIANTS[variant])
    steps = _run(dataclasses.replace(base, policy="steps"), workload)
    result = _run(base, workload)
    if steps.status == "completed":
        assert result.status == "completed"
        assert result.elapsed_s <= steps.elapsed_s
    assert result.status in ("completed", "cancelled")


def test_non_converging_is_detected_within_a_few_iterations():
    result = _run(ADAPTIVE, "non-converging")
    assert result.table() == [(0.5, "set_downtime", {"downtime_ms": 50}),
                              (20.5, "abort", {})]
    assert result.iterations <= 1 + ADAPTIVE.stall_iterations
    reason = result.decisions[-1][1].reason
    assert "cannot converge" in reason and "not permitted" in reason


def test_non_converging_with_post_copy():
    result = _run(dataclasses.replace(ADAPTIVE, permit_post_copy=True), "non-converging")
    assert result.kinds() == ["set_downtime", "start_postcopy"]
    assert result.status == "completed" and result.postcopy
    assert result.downtime_ms == fake_live_model.POSTCOPY_DOWNTIME_MS
    assert result.elapsed_s < 35


def test_non_converging_with_auto_converge_throttles_stepwise():
    policy = dataclasses.replace(ADAPTIVE, permit_auto_converge=True)
    result = _run(policy, "non-converging")
    assert result.status == "completed"
    kinds = result.kinds()
    assert kinds[:3] == ["set_downtime", "enable_throttle", "increase_throttle"]
    throttles = [a for _, a in result.decisions
                 if isinstance(a, (act.EnableThrottle, act.IncreaseThrottle))]
    assert throttles[0].percent == 20
    assert all(b.percent == a.percent + 10 for a, b in zip(throttles, throttles[1:]))
    # Each increase waits for a pass run wholly at the previous throttle.
    times = [t for t, a in result.decisions if a in throttles]
    assert all(b - a >= 10 for a, b in zip(times, times[1:]))
    assert result.downtime_ms <= policy.max_downtime_ms + SLACK_MS


def test_post_copy_comes_before_auto_converge():
    policy = dataclasses.replace(ADAPTIVE, permit_auto_converge=True, permit_post_copy=True)
    assert _run(policy, "non-converging").kinds() == ["set_downtime", "start_postcopy"]


def test_force_complete_when_nothing_else_is_left():
    policy = dataclasses.replace(ADAPTIVE, timeout_action="force_complete")
    result = _run(policy, "non-converging")
    assert result.kinds() == ["set_downtime", "force_complete"]
    assert result.status == "completed" and result.paused


def test_hard_cap_allows_a_larger_downtime_and_never_more():
    policy = dataclasses.replace(ADAPTIVE, hard_max_downtime_ms=1000)
    # A 60 MiB hot set needs ~600 ms: more than the maximum, within the cap.
    steps = _run(dataclasses.replace(policy, policy="steps"), "hot-set",
                 working_set_bytes=60 * MiB)
    assert steps.status == "cancelled"
    result = _run(policy, "hot-set", working_set_bytes=60 * MiB)
    assert result.status == "completed"
    assert ADAPTIVE.max_downtime_ms < result.downtime_ms <= 1000 + SLACK_MS
    downtimes = [a.downtime_ms for _, a in result.decisions if isinstance(a, act.SetDowntime)]
    assert max(downtimes) <= 1000
    assert "hard cap" in result.decisions[-1][1].reason
    # Without the cap the same guest is given up on quickly.
    assert _run(ADAPTIVE, "hot-set", working_set_bytes=60 * MiB).kinds()[-1] == "abort"


@pytest.mark.parametrize("action, kind, status", [
    ("abort", "abort", "cancelled"), ("force_complete", "force_complete", "completed")])
def test_the_deadline_is_never_exceeded(action, kind, status):
    # 15 s/GiB x 2 GiB = 30 s, while auto-converge is still working.
    policy = dataclasses.replace(ADAPTIVE, permit_auto_converge=True,
                                 completion_timeout=15, timeout_action=action)
    result = _run(policy, "non-converging")
    assert result.decisions[-1][0] == 30.0
    assert result.kinds()[-1] == kind and "deadline 30" in result.decisions[-1][1].reason
    assert result.status == status
    if status == "cancelled":
        assert result.elapsed_s <= 30.0


def test_deadline_from_the_minimum_bandwidth():
    policy = dataclasses.replace(ADAPTIVE, completion_timeout=0, min_bandwidth_mib=128)
    assert adaptive.deadline_s(policy, 2) == 16.0
    assert adaptive.deadline_s(dataclasses.replace(policy, min_bandwidth_mib=0), 2) is None
    both = dataclasses.replace(policy, completion_timeout=5)
    assert adaptive.deadline_s(both, 2) == 10.0


def test_decisions_are_deterministic():
    policy = dataclasses.replace(ADAPTIVE, permit_auto_converge=True)
    first = _run(policy, "non-converging", seed=3)
    again = _run(policy, "non-converging", seed=3)
    assert first.table() == again.table() and first.elapsed_s == again.elapsed_s


# -- the decision function on its own ------------------------------------------

def _stalled(iteration, now, remaining=GiB):
    """A poll of a migration that is not converging at all."""
    return live_job.JobStats(
        time_elapsed=int(now * 1000), memory_total=GiB, memory_remaining=remaining,
        memory_processed=int(now * 100 * MiB), memory_bps=100 * MiB,
        memory_dirty_rate=100 * MiB, memory_iteration=iteration)


def _feed(policy, facts, polls):
    state = policies.start(policy, facts)
    found = []
    for stats, now in polls:
        state, more = policies.decide(policy, state, stats, now)
        found += more
    return state, found


def test_a_paused_guest_is_never_post_copied():
    policy = dataclasses.replace(ADAPTIVE, permit_post_copy=True, permit_auto_converge=True)
    facts = policies.MigrationFacts(memory_bytes=GiB, guest_paused=True)
    polls = [(_stalled(i, 10.0 * i), 10.0 * i) for i in range(1, 5)]
    state, found = _feed(policy, facts, polls)
    assert not any(isinstance(a, act.StartPostCopy) for a in found)
    assert any(isinstance(a, act.EnableThrottle) for a in found)


def test_nothing_is_decided_in_post_copy_or_after_the_job():
    state, found = _feed(ADAPTIVE, policies.MigrationFacts(memory_bytes=GiB), [
        (dataclasses.replace(_stalled(3, 30.0), postcopy=True), 30.0)])
    assert found == [] and state.postcopy
    state, found = _feed(ADAPTIVE, policies.MigrationFacts(memory_bytes=GiB), [
        (dataclasses.replace(_stalled(3, 30.0), job_type=live_job.JOB_COMPLETED), 30.0)])
    assert found == []


def test_prediction_figures():
    state = adaptive.start(ADAPTIVE, policies.MigrationFacts(memory_bytes=GiB))
    state = dataclasses.replace(state, bandwidth=100 * MiB, dirty_rate=50 * MiB,
                                iteration=4, pass_started_s=9.0)
    stats = live_job.JobStats(memory_total=GiB, memory_remaining=20 * MiB)
    view = adaptive.predict(state, stats, 9.1)
    # Now: 20 + 50 x 0.1 = 25 MiB; at the end of the pass: 50 x (0.1 + 0.2) = 15.
    assert view.pending == pytest.approx(15 * MiB)
    assert view.downtime_ms == pytest.approx(150)
    assert view.next_downtime_ms == pytest.approx(75)
    assert view.ratio == 0.5 and view.converge_s == 0.0
    unknown = adaptive.predict(dataclasses.replace(state, bandwidth=0), stats, 9.1)
    assert math.isinf(unknown.downtime_ms)


def test_every_action_explains_itself():
    policy = dataclasses.replace(ADAPTIVE, permit_auto_converge=True)
    for _, action in _run(policy, "non-converging").decisions:
        event = action.to_event()
        assert event["reason"] and event["figures"]
        assert "bandwidth_bps" in event["figures"]


def test_passes_that_stop_shrinking_switch_over_when_the_downtime_fits():
    """Seen on real guests (64 MiB/s dirtied over 32 MiB, 64 MiB/s link, a
    slowed TCG guest): dirty/bandwidth 0.33 says "wait, the next pass is
    shorter", but the passes stay at the working set's 32 MiB. A predicted
    downtime within the maximum means switch over then, never abort."""
    polls = [(live_job.JobStats(
        memory_total=128 * MiB, memory_remaining=32 * MiB,
        memory_processed=(128 + 32 * i) * MiB, memory_bps=64 * MiB,
        memory_dirty_rate=21 * MiB, memory_iteration=i + 1), 2.0 + 0.5 * i)
        for i in range(8)]
    state, found = _feed(ADAPTIVE, policies.MigrationFacts(memory_bytes=128 * MiB),
                         polls[:4])
    assert not any(isinstance(a, act.Abort) for a in found), found
    # 32 MiB pending at 64 MiB/s: 500 ms, the maximum (not the 164 ms the
    # dirty rate predicts).
    assert [a.downtime_ms for a in found] == [50, 500]
    assert not state.aborted
    # Still no switch-over at 500 ms: the prediction was wrong, the ladder
    # goes on (here: abort, nothing else is permitted).
    state, found = _feed(ADAPTIVE, policies.MigrationFacts(memory_bytes=128 * MiB), polls)
    assert isinstance(found[-1], act.Abort) and len(found) == 3
