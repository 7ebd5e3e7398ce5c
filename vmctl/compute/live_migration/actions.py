"""What a convergence policy asks the migration monitor to do.

Every action carries a human-readable ``reason`` and the ``figures`` behind
it; the monitor applies the action to the hypervisor job and records both as
an instance action event (``to_event``). ``apply`` turns an action into
the job's control call; the monitor and the simulator both use it.
"""

import dataclasses
import types


def _frozen(figures):
    return types.MappingProxyType(dict(figures or {}))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Action:
    kind = "action"
    reason: str
    figures: types.MappingProxyType = dataclasses.field(
        default_factory=lambda: _frozen({}), compare=False)

    def __post_init__(self):
        object.__setattr__(self, "figures", _frozen(self.figures))

    def params(self):
        """The action's own arguments (what the hypervisor call needs)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("reason", "figures")}

    def to_event(self):
        """The payload of the instance action event that records it."""
        return {"action": self.kind, **self.params(), "reason": self.reason,
                "figures": dict(self.figures)}

    def __str__(self):
        args = ", ".join(f"{k}={v}" for k, v in self.params().items())
        return f"{self.kind}({args}): {self.reason}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SetDowntime(Action):
    """Allow QEMU this much downtime (ms) for the switch-over."""
    kind = "set_downtime"
    downtime_ms: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class StartPostCopy(Action):
    """Switch to post-copy: the guest runs on the destination from now on."""
    kind = "start_postcopy"


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnableThrottle(Action):
    """Start auto-converge: throttle the guest's vCPUs by ``percent``."""
    kind = "enable_throttle"
    percent: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class IncreaseThrottle(Action):
    """Raise the throttle by ``step`` points, to ``percent`` in total."""
    kind = "increase_throttle"
    step: int
    percent: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Abort(Action):
    """Cancel the job; the guest stays on the source, running."""
    kind = "abort"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ForceComplete(Action):
    """Pause the guest so the remaining memory converges (unpause on failure)."""
    kind = "force_complete"


def apply(job, action):
    """Make the hypervisor call ``action`` asks for on ``job``.

    ``job``: anything with the control calls of the job contract
    (``vmctl.virt.live_job.JobControls``): a driver's running job under the
    monitor, or the fake driver's model under the simulator.
    """
    if isinstance(action, SetDowntime):
        job.set_max_downtime(action.downtime_ms)
    elif isinstance(action, StartPostCopy):
        job.start_postcopy()
    elif isinstance(action, (EnableThrottle, IncreaseThrottle)):
        job.throttle(action.percent)
    elif isinstance(action, ForceComplete):
        job.pause()
    elif isinstance(action, Abort):
        job.abort()
    else:
        raise TypeError(f"unknown action {action!r}")
