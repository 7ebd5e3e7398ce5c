"""What both convergence policies share: the migration's facts, the
decision type, and the force-complete / timeout actions.

Policy states are frozen dataclasses; each has the fields ``postcopy``,
``paused`` and ``aborted`` that the shared functions read and set.
"""

import dataclasses
import typing

from vmctl.compute.live_migration import actions as act

GiB = 1024 ** 3
MiB = 1024 ** 2
MIN_DATA_GIB = 2  # Nova counts RAM and each migrated disk as at least 2 GiB


@dataclasses.dataclass(frozen=True)
class MigrationFacts:
    """What is known about a migration when it starts."""

    memory_bytes: int
    disk_bytes: tuple = ()     # sizes of the disks copied (block migration)
    guest_paused: bool = False  # the instance was PAUSED before migrating

    @property
    def data_gib(self):
        """Nova's data size: max(RAM, 2 GiB) + sum of max(disk, 2 GiB)."""
        return (max(self.memory_bytes / GiB, MIN_DATA_GIB)
                + sum(max(size / GiB, MIN_DATA_GIB) for size in self.disk_bytes))


class Decision(typing.NamedTuple):
    state: object
    actions: list


def timeout_action(policy, state, reason, figures):
    """Apply ``policy.timeout_action`` (abort | force_complete)."""
    if policy.timeout_action == "force_complete":
        return force_complete(policy, state, reason, figures)
    state = dataclasses.replace(state, aborted=True)
    return Decision(state, [act.Abort(reason=reason, figures=figures)])


def force_complete(policy, state, reason, figures=None):
    """Post-copy if permitted and the guest is not paused, else pause."""
    if state.aborted or state.postcopy or state.paused:
        # Never post-copy a paused guest; a paused one converges already.
        return Decision(state, [])
    figures = dict(figures or {}, permit_post_copy=policy.permit_post_copy)
    if policy.permit_post_copy:
        return Decision(dataclasses.replace(state, postcopy=True), [act.StartPostCopy(
            reason=f"{reason}; switching to post-copy", figures=figures)])
    return Decision(dataclasses.replace(state, paused=True), [act.ForceComplete(
        reason=f"{reason}; pausing the guest so the migration converges",
        figures=figures)])

