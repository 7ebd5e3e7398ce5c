"""The ``steps`` policy: Nova-compatible downtime steps and completion timeout.

Mirrors nova/virt/libvirt/migration.py (``downtime_steps``,
``update_downtime``, ``should_trigger_timeout_action``) and the monitor loop
of its libvirt driver, so the two can be compared decision for decision:

- data_gib = max(RAM GiB, 2) + sum(max(disk GiB, 2)) (disks only when they are
  copied, i.e. block migration);
- a schedule of ``downtime_steps + 1`` steps (see ``downtime_schedule``); at
  each poll the last step whose time is strictly below the elapsed time is
  the downtime, set when it differs from the last one set;
- after int(completion_timeout * data_gib) s (0 = never) the timeout action
  runs once, before the downtime step of that poll; never in post-copy.

Differences from Nova, on purpose: the timeout action runs once (Nova
repeats force-complete each poll, which is a no-op after the first), and no
downtime is set once post-copy has started (it means nothing then).
"""

import dataclasses

from vmctl.compute.live_migration import actions as act
from vmctl.compute.live_migration import base
from vmctl.compute.live_migration.base import Decision


@dataclasses.dataclass(frozen=True)
class StepsState:
    facts: base.MigrationFacts
    schedule: tuple            # ((seconds, downtime_ms), ...)
    timeout_s: int             # 0 = no completion timeout
    downtime_ms: int = None    # the downtime last set, None before the first
    timed_out: bool = False
    postcopy: bool = False
    paused: bool = False
    aborted: bool = False


def downtime_schedule(policy, data_gib):
    """Nova's linear schedule: ``downtime_steps + 1`` (time s, downtime ms).

    delay = int(downtime_delay * data_gib); base = max / steps;
    offset = (max - base) / steps; step i = (int(delay * i), int(base +
    offset * i)), i = 0..steps. Truncation to int is Nova's too.
    """
    steps = policy.downtime_steps
    delay = int(policy.downtime_delay * data_gib)
    base = policy.max_downtime_ms / steps
    offset = (policy.max_downtime_ms - base) / steps
    return tuple((int(delay * i), int(base + offset * i)) for i in range(steps + 1))


def completion_timeout_s(policy, data_gib):
    """Nova: int(completion_timeout * data_gib); 0 = off."""
    return int(policy.completion_timeout * data_gib)


def start(policy, facts):
    gib = facts.data_gib
    return StepsState(facts=facts, schedule=downtime_schedule(policy, gib),
                      timeout_s=completion_timeout_s(policy, gib),
                      paused=facts.guest_paused)


def decide(policy, state, stats, now):
    """Nova's monitor loop body: completion timeout, then downtime step."""
    if stats.postcopy and not state.postcopy:
        state = dataclasses.replace(state, postcopy=True)
    if state.aborted or state.postcopy:
        return Decision(state, [])
    found = []
    if state.timeout_s and not state.timed_out and now > state.timeout_s:
        state = dataclasses.replace(state, timed_out=True)
        figures = {"elapsed_s": now, "timeout_s": state.timeout_s,
                   "data_gib": round(state.facts.data_gib, 3),
                   "completion_timeout_s_per_gib": policy.completion_timeout,
                   "remaining_bytes": stats.remaining}
        reason = (f"not completed after {state.timeout_s} s "
                  f"({policy.completion_timeout} s/GiB x {state.facts.data_gib:.2f} GiB)")
        state, found = base.timeout_action(policy, state, reason, figures)
        if state.aborted or state.postcopy:
            return Decision(state, found)
    index, step = _current_step(state.schedule, now)
    if step is not None and step[1] != state.downtime_ms:
        state = dataclasses.replace(state, downtime_ms=step[1])
        found.append(act.SetDowntime(
            downtime_ms=step[1],
            reason=f"downtime step {index} of {len(state.schedule) - 1}: "
            f"{step[1]} ms after {step[0]} s",
            figures={"elapsed_s": now, "step": index, "step_time_s": step[0],
                     "remaining_bytes": stats.remaining,
                     "expected_downtime_ms": stats.downtime}))
    return Decision(state, found)


def _current_step(schedule, now):
    """The last step whose time has passed (Nova: ``elapsed > step[0]``)."""
    found = (None, None)
    for index, step in enumerate(schedule):
        if now > step[0]:
            found = (index, step)
    return found
