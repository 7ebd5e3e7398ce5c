"""The ``adaptive`` policy: switch over as soon as the predicted downtime fits.

Each poll it

1. smooths the bandwidth (every poll) and the dirty rate (once per pre-copy
   iteration, when QEMU measures it) with an EWMA of weight ``ALPHA``;
2. predicts the bytes pending if QEMU switched over now,
   ``pending = remaining + dirty_rate * t_iter`` (``remaining`` is what is
   left of this pass; the second term what the guest dirtied since the pass
   began), and the downtime ``pending / bandwidth``;
3. if that fits the allowed maximum (``max_downtime_ms``), allows just
   enough downtime for QEMU to switch now: ``predicted * HEADROOM`` rounded
   up to ``ROUND_MS``, never above the maximum and never below the first
   step (``max_downtime_ms / downtime_steps``, set at the first poll);
4. at each new iteration collects evidence that the migration cannot
   converge: dirty rate >= ``convergence_margin`` x bandwidth, ``remaining``
   not below ``SHRINK`` x the previous iteration's, or a projected finish
   ``(pending - bandwidth * max) / (bandwidth - dirty_rate)`` past the
   deadline; after ``stall_iterations`` iterations in a row with evidence
   it escalates, one stage at a time, as the policy permits:
   post-copy (never for a paused guest) -> auto-converge throttle (first
   ``auto_converge_initial``, then ``+auto_converge_increment`` after each
   fully observed iteration that still shows evidence, up to
   ``auto_converge_max``) -> a downtime up to ``hard_max_downtime_ms`` if
   the prediction fits it -> ``timeout_action`` (abort, or force-complete);
5. at the deadline, ``data_gib`` x (``completion_timeout`` s/GiB, or
   1024 / ``min_bandwidth_mib`` if earlier), runs ``timeout_action``.
"""

import dataclasses
import math
import typing

from vmctl.compute.live_migration import actions as act
from vmctl.compute.live_migration import base
from vmctl.compute.live_migration.base import Decision
from vmctl.virt import live_job

ALPHA = 0.5        # EWMA weight of the newest sample
HEADROOM = 1.1     # downtime allowed = predicted downtime x HEADROOM ...
ROUND_MS = 10      # ... rounded up to this
SHRINK = 0.9       # remaining must fall below this x the previous iteration's
HISTORY = 3        # pre-copy passes whose sizes are kept
WAIT_RATIO = 0.5   # below this dirty/bandwidth ratio, waiting a pass pays


@dataclasses.dataclass(frozen=True)
class AdaptiveState:
    facts: base.MigrationFacts
    deadline_s: float = None        # None: no deadline
    base_ms: int = 50               # first downtime allowed
    allowed_max_ms: int = 500       # max_downtime_ms, or the hard cap
    downtime_ms: int = None         # the downtime last set
    bandwidth: float = 0.0          # EWMA, bytes/s
    dirty_rate: float = 0.0         # EWMA, bytes/s
    last_now: float = None
    last_processed: int = 0
    last_remaining: int = 0
    iteration: int = 0              # last memory_iteration seen
    pass_started_s: float = 0.0     # estimated start of that pre-copy pass
    pass_sizes: tuple = ()          # estimated bytes of the last passes
    stalls: int = 0                 # iterations in a row with evidence
    observe_after: int = 0          # no evidence counted up to this iteration
    throttle: int = 0               # auto-converge percent applied
    stage: str = "precopy"          # precopy | throttle | hard_cap
    postcopy: bool = False
    paused: bool = False
    aborted: bool = False


class Prediction(typing.NamedTuple):
    pending: float          # bytes QEMU would send with the guest stopped
    downtime_ms: float      # pending / bandwidth
    next_downtime_ms: float  # the same after one more pass
    ratio: float            # dirty rate / bandwidth
    converge_s: float       # projected time until the prediction fits

    def figures(self, state):
        return {"pending_bytes": int(self.pending),
                "predicted_downtime_ms": _round(self.downtime_ms),
                "next_pass_downtime_ms": _round(self.next_downtime_ms),
                "bandwidth_bps": int(state.bandwidth),
                "dirty_rate_bps": int(state.dirty_rate),
                "dirty_to_bandwidth": round(self.ratio, 3),
                "projected_converge_s": _round(self.converge_s),
                "allowed_max_ms": state.allowed_max_ms,
                "iteration": state.iteration}


def deadline_s(policy, data_gib):
    """data_gib x the smaller of completion_timeout and 1024/min_bandwidth."""
    per_gib = [policy.completion_timeout] if policy.completion_timeout else []
    if policy.min_bandwidth_mib:
        per_gib.append(1024 / policy.min_bandwidth_mib)
    return data_gib * min(per_gib) if per_gib else None


def start(policy, facts):
    return AdaptiveState(
        facts=facts, deadline_s=deadline_s(policy, facts.data_gib),
        base_ms=int(policy.max_downtime_ms / policy.downtime_steps),
        allowed_max_ms=policy.max_downtime_ms, paused=facts.guest_paused)


def decide(policy, state, stats, now):
    if stats.postcopy and not state.postcopy:
        state = dataclasses.replace(state, postcopy=True)
    if state.aborted or state.postcopy or stats.job_type != live_job.JOB_UNBOUNDED:
        return Decision(state, [])
    state, new_iteration = _observe(state, stats, now)
    view = predict(state, stats, now)
    if state.deadline_s is not None and now >= state.deadline_s:
        return _deadline(policy, state, stats, now, view)
    state, found, fits = _allow_downtime(state, view)
    if not new_iteration or state.iteration <= state.observe_after:
        return Decision(state, found)
    evidence = _evidence(policy, state, now, view)
    state = dataclasses.replace(state, stalls=state.stalls + 1 if evidence else 0)
    needed = 1 if state.stage != "precopy" else policy.stall_iterations
    if fits or state.stalls < needed:
        return Decision(state, found)
    state, more = _escalate(policy, state, view, "; ".join(evidence))
    return Decision(state, found + more)


def predict(state, stats, now):
    """What switching over now (or before this pass ends) would cost.

    In pass >= 2: pending now = remaining + dirty * t, t the time since the
    pass began; at the end of the pass, pending = dirty * (t + remaining /
    bandwidth). QEMU switches at the first instant the pending bytes fit, so
    the smaller of the two is what a downtime must cover.
    """
    bandwidth = state.bandwidth
    if bandwidth <= 0:
        return Prediction(stats.remaining, math.inf, math.inf, math.inf, math.inf)
    pending = stats.remaining
    if state.iteration >= 2:
        since = max(0.0, now - state.pass_started_s)
        at_end = state.dirty_rate * (since + stats.remaining / bandwidth)
        pending = min(stats.remaining + state.dirty_rate * since, at_end)
    pending = min(pending, stats.memory_total + stats.disk_remaining)
    ratio = state.dirty_rate / bandwidth
    target = bandwidth * state.allowed_max_ms / 1000.0
    if pending <= target:
        converge = 0.0
    elif ratio < 1:
        converge = (pending - target) / (bandwidth - state.dirty_rate)
    else:
        converge = math.inf
    downtime = pending / bandwidth * 1000.0
    return Prediction(pending, downtime, downtime * ratio, ratio, converge)


def _ewma(old, sample, fresh):
    return sample if fresh or old <= 0 else old + ALPHA * (sample - old)


def _observe(state, stats, now):
    """Fold one poll into the estimates; True if a new iteration began."""
    sample = stats.memory_bps
    if not sample and state.last_now is not None and now > state.last_now:
        sample = (stats.memory_processed - state.last_processed) / (now - state.last_now)
    changes = {"last_now": now, "last_processed": stats.memory_processed,
               "last_remaining": stats.remaining}
    if sample > 0:
        changes["bandwidth"] = bandwidth = _ewma(state.bandwidth, sample, False)
    else:
        bandwidth = state.bandwidth
    new_iteration = stats.memory_iteration > state.iteration
    if new_iteration:
        sent = _sent_in_pass(state, stats)
        started = now - sent / bandwidth if bandwidth > 0 else now
        changes.update(iteration=stats.memory_iteration, pass_started_s=started,
                       pass_sizes=(state.pass_sizes + (stats.remaining + sent,))[-HISTORY:])
        if stats.memory_iteration >= 2:
            # Pass 1 (all of memory) says little about later passes, and a
            # throttle change makes older samples describe another guest.
            fresh = state.iteration < 3 or stats.memory_iteration <= state.observe_after + 1
            changes["dirty_rate"] = _ewma(state.dirty_rate, stats.memory_dirty_rate, fresh)
    return dataclasses.replace(state, **changes), new_iteration


def _sent_in_pass(state, stats):
    """Bytes sent in the current pass, at the first poll that sees it.

    Since the previous poll, ``processed`` grew by what the previous pass
    had left, the n - 1 passes in between and what this one sent; with
    passes of equal size S (what a stalled migration does):
    S = (delta - last_remaining + remaining) / n, sent = S - remaining.
    """
    if state.last_now is None:
        return 0.0
    passes = stats.memory_iteration - state.iteration
    delta = stats.memory_processed - state.last_processed
    size = (delta - state.last_remaining + stats.remaining) / passes
    return max(0.0, size - stats.remaining)


def _allow_downtime(state, view):
    """Raise the allowed downtime to what switching now needs, if it fits."""
    fits = state.iteration >= 2 and view.downtime_ms <= state.allowed_max_ms
    wanted = state.base_ms
    if fits and view.ratio < WAIT_RATIO:
        # Converging fast: one more pass at least halves the downtime, for
        # less extra time than the downtime it saves. Let it converge.
        fits = False
        wanted = state.downtime_ms or wanted
    elif fits:
        wanted = math.ceil(view.downtime_ms * HEADROOM / ROUND_MS) * ROUND_MS
        wanted = max(state.base_ms, min(wanted, state.allowed_max_ms))
    if state.downtime_ms is not None and wanted <= state.downtime_ms:
        return state, [], fits
    if fits:
        reason = (f"predicted downtime {_round(view.downtime_ms)} ms fits the "
                  f"maximum {state.allowed_max_ms} ms: allowing {wanted} ms")
    else:
        reason = f"first downtime step: {wanted} ms"
    action = act.SetDowntime(downtime_ms=wanted, reason=reason,
                             figures=view.figures(state))
    return dataclasses.replace(state, downtime_ms=wanted), [action], fits


def _evidence(policy, state, now, view):
    """Why this iteration looks like one that cannot converge (or [])."""
    found = []
    if view.ratio >= policy.convergence_margin:
        found.append(f"dirty rate {_mib(state.dirty_rate)} MiB/s >= "
                     f"{policy.convergence_margin} x bandwidth {_mib(state.bandwidth)} MiB/s")
    sizes = state.pass_sizes
    if len(sizes) >= 2 and sizes[-1] >= SHRINK * sizes[-2]:
        found.append(f"pass of {_mib(sizes[-1])} MiB not below {SHRINK} x "
                     f"{_mib(sizes[-2])} MiB of the previous one")
    if state.deadline_s is not None and now + view.converge_s > state.deadline_s:
        found.append(f"projected to fit at {_round(now + view.converge_s)} s, past "
                     f"the deadline {_round(state.deadline_s)} s")
    return found


def _escalate(policy, state, view, evidence):
    """The next permitted measure against a migration that cannot converge."""
    figures = dict(view.figures(state), evidence=evidence, throttle_percent=state.throttle)
    switch = _switch_now(state, view, figures, evidence)
    if switch is not None:
        return switch
    if policy.permit_post_copy and not state.paused:
        return base.force_complete(policy, state, f"not converging ({evidence})", figures)
    if policy.permit_auto_converge and state.throttle < policy.auto_converge_max:
        return _throttle(policy, state, figures, evidence)
    hard_cap = policy.hard_cap_ms
    if state.allowed_max_ms < hard_cap and view.downtime_ms <= hard_cap:
        wanted = min(hard_cap, math.ceil(view.downtime_ms * HEADROOM / ROUND_MS) * ROUND_MS)
        state = dataclasses.replace(state, allowed_max_ms=hard_cap, downtime_ms=wanted,
                                    stage="hard_cap", stalls=0)
        return state, [act.SetDowntime(
            downtime_ms=wanted, figures=figures,
            reason=f"not converging ({evidence}); predicted downtime "
            f"{_round(view.downtime_ms)} ms fits the hard cap {hard_cap} ms: "
            f"allowing {wanted} ms")]
    reason = (f"cannot converge ({evidence}); measures left: none (post-copy "
              f"{'refused: guest paused' if policy.permit_post_copy else 'not permitted'}, "
              f"throttle {state.throttle} %, predicted downtime "
              f"{_round(view.downtime_ms)} ms > cap {hard_cap} ms)")
    return base.timeout_action(policy, state, reason, figures)


def _switch_now(state, view, figures, evidence):
    """The prediction fits the allowed maximum, but waiting for a shorter
    pass (WAIT_RATIO) did not pay: the passes stopped shrinking (a working
    set resent whole each pass). Then the last pass, not the dirty rate, says
    what is pending at the switch-over. Allow that downtime now rather than
    escalate; None when it does not fit or is allowed already (then the
    ladder goes on)."""
    needed = view.downtime_ms
    if state.pass_sizes and state.bandwidth > 0:
        needed = max(needed, state.pass_sizes[-1] / state.bandwidth * 1000.0)
    if needed > state.allowed_max_ms:
        return None
    wanted = math.ceil(needed * HEADROOM / ROUND_MS) * ROUND_MS
    wanted = max(state.base_ms, min(wanted, state.allowed_max_ms))
    if state.downtime_ms is not None and wanted <= state.downtime_ms:
        return None
    state = dataclasses.replace(state, downtime_ms=wanted, stalls=0)
    return state, [act.SetDowntime(
        downtime_ms=wanted, figures=figures,
        reason=f"not converging ({evidence}); a pass's downtime "
        f"{_round(needed)} ms fits the maximum {state.allowed_max_ms} ms: "
        f"allowing {wanted} ms")]


def _throttle(policy, state, figures, evidence):
    if state.throttle == 0:
        percent = policy.auto_converge_initial
        action = act.EnableThrottle(
            percent=percent, figures=figures,
            reason=f"not converging ({evidence}); throttling the guest to {percent} %")
    else:
        percent = min(policy.auto_converge_max, state.throttle + policy.auto_converge_increment)
        action = act.IncreaseThrottle(
            step=percent - state.throttle, percent=percent, figures=figures,
            reason=f"still not converging at {state.throttle} % ({evidence}); "
            f"throttling to {percent} %")
    # Judge the effect on the first iteration run wholly at the new throttle.
    state = dataclasses.replace(state, throttle=percent, stage="throttle", stalls=0,
                                observe_after=state.iteration + 1)
    return state, [action]


def _deadline(policy, state, stats, now, view):
    figures = dict(view.figures(state), elapsed_s=now, deadline_s=_round(state.deadline_s),
                   remaining_bytes=stats.remaining)
    reason = (f"deadline {_round(state.deadline_s)} s reached "
              f"({state.facts.data_gib:.2f} GiB of data)")
    return base.timeout_action(policy, state, reason, figures)


def _mib(value):
    return round(value / base.MiB, 1)


def _round(value):
    return value if math.isinf(value) else round(value, 1)
