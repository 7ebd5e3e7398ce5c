"""Run a convergence policy against a migration model, poll by poll.

The loop the monitor runs, without I/O: advance the migration by one poll
interval, read its statistics, let the policy decide, apply the actions.
Used by the unit tests, the functional tests (through the fake driver) and
the convergence benchmark. ``migration`` is anything with the
``FakeMigration`` interface: the job contract's control calls
(``vmctl.virt.live_job.JobControls``, applied with ``actions.apply`` as the
monitor does) plus ``advance``, ``stats``, ``status``, ``now``,
``downtime_ms``.
"""

import dataclasses

from vmctl.compute.live_migration import actions as act
from vmctl.compute.live_migration import config
from vmctl.compute.live_migration import policies
from vmctl.virt import fake_live_model


@dataclasses.dataclass
class Result:
    status: str                 # completed | cancelled | running (time cap)
    elapsed_s: float            # when the migration ended (or the cap)
    downtime_ms: float = None   # guest-seen downtime, if completed
    decisions: list = dataclasses.field(default_factory=list)  # (time s, action)
    iterations: int = 0
    bytes_sent: int = 0
    throttle_percent: int = 0
    postcopy: bool = False
    paused: bool = False
    state: object = None        # the policy's last state

    def kinds(self):
        return [action.kind for _, action in self.decisions]

    def table(self):
        """(time, kind, arguments) of every decision, for reading."""
        return [(t, a.kind, a.params()) for t, a in self.decisions]


def facts_of(migration):
    """The facts the monitor would know at the start of ``migration``."""
    disks = (migration.disk_total,) if migration.disk_total else ()
    return policies.MigrationFacts(memory_bytes=migration.memory_total,
                                   disk_bytes=disks, guest_paused=migration.paused)


def run(policy, migration, poll_interval=0.5, time_cap_s=7200.0,
        force_complete_at_s=None, facts=None):
    """Drive ``migration`` under ``policy`` until it ends or ``time_cap_s``.

    ``force_complete_at_s``: the operator asks to force-complete at the
    first poll at or after that time.
    """
    state = policies.start(policy, facts or facts_of(migration))
    result = Result(status=migration.status, elapsed_s=0.0)
    polls = 0
    while migration.status == "running" and polls * poll_interval < time_cap_s:
        migration.advance(poll_interval)
        polls += 1
        now = round(polls * poll_interval, 9)
        if migration.status != "running":
            break
        found = []
        if force_complete_at_s is not None and now >= force_complete_at_s:
            force_complete_at_s = None
            state, found = policies.on_force_complete(policy, state)
        state, more = policies.decide(policy, state, migration.stats(), now)
        for action in found + more:
            act.apply(migration, action)
            result.decisions.append((now, action))
    stats = migration.stats()
    result.status = migration.status
    result.elapsed_s = round(migration.now, 6)
    result.downtime_ms = migration.downtime_ms
    result.iterations = stats.memory_iteration
    result.bytes_sent = stats.data_processed
    result.throttle_percent = stats.auto_converge_throttle
    result.postcopy = stats.postcopy
    result.paused = migration.paused
    result.state = state
    return result


# -- modelled workloads --------------------------------------------------------

MiB = 1024 ** 2
GiB = 1024 ** 3

# name -> FakeMigration arguments (1 GiB guest, 100 MiB/s link).
WORKLOADS = {
    "converging": dict(memory_bytes=GiB, dirty_rate_bps=10 * MiB,
                       bandwidth_bps=100 * MiB, working_set_bytes=256 * MiB),
    "slow-converging": dict(memory_bytes=GiB, dirty_rate_bps=60 * MiB,
                            bandwidth_bps=100 * MiB),
    "hot-set": dict(memory_bytes=GiB, dirty_rate_bps=150 * MiB,
                    bandwidth_bps=100 * MiB, working_set_bytes=40 * MiB),
    "non-converging": dict(memory_bytes=GiB, dirty_rate_bps=120 * MiB,
                           bandwidth_bps=100 * MiB),
}

WORKLOAD_NOTES = {
    "converging": "dirty 10 MiB/s in a 256 MiB working set",
    "slow-converging": "dirty 60 MiB/s (0.6 x bandwidth) anywhere in RAM",
    "hot-set": "dirty 150 MiB/s in a 40 MiB hot set (floor: 400 ms)",
    "non-converging": "dirty 120 MiB/s anywhere in RAM",
}


def summary(result):
    """One row of a decision table: outcome, time, downtime, decisions.

    Three or more downtime changes in a row read as one entry:
    ``set_downtime(50..410)x9@0.5..1200.5s``.
    """
    moves, run_ = [], []

    def flush():
        if len(run_) >= 3:
            (t0, a0), (t1, a1) = run_[0], run_[-1]
            moves.append(f"set_downtime({a0.downtime_ms}..{a1.downtime_ms})"
                         f"x{len(run_)}@{t0:g}..{t1:g}s")
        else:
            moves.extend(f"set_downtime({a.downtime_ms})@{t:g}s" for t, a in run_)
        run_.clear()

    for t, action in result.decisions:
        if action.kind == "set_downtime":
            run_.append((t, action))
            continue
        flush()
        args = ",".join(str(v) for v in action.params().values())
        moves.append(f"{action.kind}({args})@{t:g}s")
    flush()
    downtime = "-" if result.downtime_ms is None else f"{result.downtime_ms:.0f}"
    return (result.status, f"{result.elapsed_s:.1f}", downtime, " ".join(moves))


def doc_policies():
    """The policy variants of the table in doc/live-migration.md."""
    policy = config.MigrationPolicy
    return {
        "steps": policy(policy="steps"),
        "adaptive": policy(),
        "steps, force_complete": policy(policy="steps", timeout_action="force_complete"),
        "adaptive, force_complete": policy(timeout_action="force_complete"),
        "steps, post-copy, force_complete": policy(
            policy="steps", permit_post_copy=True, timeout_action="force_complete"),
        "adaptive, post-copy": policy(permit_post_copy=True),
        "adaptive, auto-converge": policy(permit_auto_converge=True),
    }


def markdown_table(policies_by_name=None, workloads=None, **run_args):
    """The decision table of doc/live-migration.md, generated."""
    lines = ["| workload | policy | outcome | time s | downtime ms | decisions |",
             "|---|---|---|---|---|---|"]
    for wname, wargs in (workloads or WORKLOADS).items():
        for pname, policy in (policies_by_name or doc_policies()).items():
            migration = fake_live_model.FakeMigration(**wargs)
            row = summary(run(policy, migration, **run_args))
            lines.append(f"| {wname} | {pname} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
