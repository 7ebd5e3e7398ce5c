"""Convergence policies: pure decisions over one migration's job statistics.

The migration monitor calls, per migration::

    state = start(policy, facts)
    every poll:   state, actions = decide(policy, state, stats, now)
    on request:   state, actions = on_force_complete(policy, state)

and applies the returned actions (``actions.py``) in order. ``policy`` is a
``config.MigrationPolicy``; ``stats`` a ``stats.JobStats``; ``now`` the
seconds since the monitor started watching the job (the clock Nova's
downtime steps and completion timeout use). Nothing here does I/O or reads a
clock: the same inputs always give the same decisions.

Two policies (doc/live-migration.md has the formulas and worked examples):

- ``steps`` mirrors Nova's libvirt driver: the downtime schedule of
  ``nova.virt.libvirt.migration.downtime_steps`` and its completion timeout.
- ``adaptive`` (``adaptive.py``) predicts the switch-over downtime from
  smoothed bandwidth and dirty rate and escalates a migration that cannot
  converge.
"""

from vmctl.compute.live_migration import adaptive
from vmctl.compute.live_migration import base
from vmctl.compute.live_migration import steps
from vmctl.compute.live_migration.base import Decision
from vmctl.compute.live_migration.base import MigrationFacts

__all__ = ["Decision", "MigrationFacts", "POLICIES", "start", "decide",
           "on_force_complete"]

# policy name -> (start(policy, facts), decide(policy, state, stats, now))
POLICIES = {
    "steps": (steps.start, steps.decide),
    "adaptive": (adaptive.start, adaptive.decide),
}


def start(policy, facts):
    """The initial state of ``policy.policy`` for a migration."""
    return POLICIES[policy.policy][0](policy, facts)


def decide(policy, state, stats, now):
    """One poll: ``Decision(new state, actions to apply in order)``."""
    return POLICIES[policy.policy][1](policy, state, stats, now)


def on_force_complete(policy, state):
    """The operator asked to force-complete: post-copy if permitted and the
    guest is not paused, else pause it (``ForceComplete``). No action when
    already in post-copy, paused, or aborted."""
    return base.force_complete(policy, state, "force-complete requested")
