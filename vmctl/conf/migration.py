"""[migration] options: live migration convergence policies and the monitor.

Every option named in ``FLAVOR_OVERRIDABLE`` can be overridden per flavor by
the extra spec ``migration:<option>`` (see
``vmctl.compute.live_migration.config``); the option's min/max bound the
extra spec too. doc/live-migration.md explains the policies and formulas.
"""

from oslo_config import cfg

GROUP = "migration"

POLICY_OPTS = [
    cfg.StrOpt(
        "policy",
        default="adaptive",
        choices=[("adaptive", "estimate bandwidth and dirty rate, switch over as "
                  "soon as the predicted downtime fits, escalate when the "
                  "migration cannot converge"),
                 ("steps", "Nova-compatible linear downtime steps and a "
                  "completion timeout")],
        help="Convergence policy the migration monitor applies to live "
        "migrations.\n\nRelated options: every other option of this group.",
    ),
    cfg.IntOpt(
        "max_downtime_ms",
        default=500,
        min=100,
        max=60000,
        help="Longest pause, in milliseconds, the guest may see at the "
        "switch-over. 'steps' reaches it in downtime_steps steps; 'adaptive' "
        "never allows more unless hard_max_downtime_ms is set.\n\n"
        "Related options: downtime_steps, downtime_delay, "
        "hard_max_downtime_ms.",
    ),
    cfg.IntOpt(
        "hard_max_downtime_ms",
        default=0,
        min=0,
        max=60000,
        help="'adaptive' only: the downtime, in milliseconds, the policy may "
        "allow as a last resort for a migration that cannot converge, before "
        "giving up. 0 = max_downtime_ms (no larger downtime).\n\n"
        "Possible values: 0, or a value >= max_downtime_ms.\n\n"
        "Related options: max_downtime_ms.",
    ),
    cfg.IntOpt(
        "downtime_steps",
        default=10,
        min=3,
        max=100,
        help="'steps' only: number of increases from max_downtime_ms / "
        "downtime_steps up to max_downtime_ms (Nova: "
        "live_migration_downtime_steps). 'adaptive' starts at the same "
        "first value.\n\nRelated options: max_downtime_ms, downtime_delay.",
    ),
    cfg.IntOpt(
        "downtime_delay",
        default=75,
        min=3,
        max=3600,
        help="'steps' only: seconds between two downtime increases, per GiB "
        "of data to transfer (Nova: live_migration_downtime_delay).\n\n"
        "Related options: downtime_steps.",
    ),
    cfg.IntOpt(
        "completion_timeout",
        default=800,
        min=0,
        max=86400,
        help="Seconds per GiB of data to transfer after which timeout_action "
        "runs (Nova: live_migration_completion_timeout). 0 = no timeout. "
        "Never applies once post-copy has started.\n\n"
        "Related options: timeout_action, min_bandwidth_mib.",
    ),
    cfg.StrOpt(
        "timeout_action",
        default="abort",
        choices=[("abort", "cancel the migration; the guest keeps running on "
                  "the source"),
                 ("force_complete", "post-copy if permitted, else pause the "
                  "guest until the migration completes")],
        help="What happens at the completion deadline, and ('adaptive') when "
        "a migration cannot converge with every permitted measure.\n\n"
        "Related options: completion_timeout, permit_post_copy.",
    ),
    cfg.FloatOpt(
        "min_bandwidth_mib",
        default=0.0,
        min=0.0,
        max=100000.0,
        help="'adaptive' only: a migration slower than this (MiB/s) over its "
        "whole data is late: its deadline is the data size divided by it "
        "(the earlier of this and completion_timeout). 0 = not used.\n\n"
        "Related options: completion_timeout.",
    ),
    cfg.BoolOpt(
        "permit_post_copy",
        default=False,
        help="Allow switching a running migration to post-copy (the guest "
        "then runs on the destination and pulls missing pages; the "
        "migration can no longer be aborted). Used by force-complete, by "
        "timeout_action=force_complete and by 'adaptive' for a migration "
        "that cannot converge. Never used for a paused guest.\n\n"
        "Related options: permit_auto_converge, timeout_action.",
    ),
    cfg.BoolOpt(
        "permit_auto_converge",
        default=False,
        help="Allow throttling the guest's vCPUs (auto-converge) so that it "
        "dirties memory more slowly than it is sent. 'adaptive' throttles "
        "stepwise after post-copy, if both are permitted.\n\n"
        "Related options: auto_converge_initial, auto_converge_increment, "
        "auto_converge_max.",
    ),
    cfg.IntOpt(
        "auto_converge_initial",
        default=20,
        min=1,
        max=99,
        help="First throttle, in percent of guest CPU (QEMU's "
        "cpu-throttle-initial).\n\nRelated options: permit_auto_converge.",
    ),
    cfg.IntOpt(
        "auto_converge_increment",
        default=10,
        min=1,
        max=99,
        help="Throttle increase per step, in percentage points (QEMU's "
        "cpu-throttle-increment).\n\nRelated options: permit_auto_converge.",
    ),
    cfg.IntOpt(
        "auto_converge_max",
        default=99,
        min=1,
        max=99,
        help="Highest throttle 'adaptive' applies, in percent.\n\n"
        "Related options: permit_auto_converge.",
    ),
    cfg.IntOpt(
        "stall_iterations",
        default=2,
        min=1,
        max=20,
        help="'adaptive' only: consecutive pre-copy iterations showing no "
        "convergence (remaining not shrinking by 10 %, dirty rate at or above "
        "convergence_margin x bandwidth, or a projected finish past the "
        "deadline) before the policy escalates.\n\n"
        "Related options: convergence_margin.",
    ),
    cfg.FloatOpt(
        "convergence_margin",
        default=0.9,
        min=0.1,
        max=1.0,
        help="'adaptive' only: a dirty rate at or above this fraction of the "
        "bandwidth counts as not converging.\n\n"
        "Related options: stall_iterations.",
    ),
    cfg.IntOpt(
        "bandwidth_mib",
        default=0,
        min=0,
        max=1000000,
        help="Bandwidth limit of a live migration in MiB/s. 0 = no limit.",
    ),
]

MONITOR_OPTS = [
    cfg.FloatOpt(
        "poll_interval",
        default=0.5,
        min=0.05,
        max=10.0,
        help="Seconds between two polls of a running migration's job "
        "statistics; the convergence policy decides once per poll.",
    ),
    cfg.FloatOpt(
        "progress_save_interval",
        default=5.0,
        min=0.5,
        max=300.0,
        help="Seconds between two progress reports (bytes total, processed, "
        "remaining) of a running migration; progress is saved at most this "
        "often, not every poll.\n\nRelated options: poll_interval.",
    ),
    cfg.IntOpt(
        "pre_live_migration_timeout",
        default=120,
        min=5,
        max=3600,
        help="Seconds the source waits for the destination to prepare "
        "(pre_live_migration: disks, images, files). A destination that "
        "does not answer in time -- one restarted meanwhile loses the "
        "request -- fails the migration, which is rolled back.",
    ),
]

OPTS = POLICY_OPTS + MONITOR_OPTS

# Options a flavor may override with the extra spec "migration:<name>".
FLAVOR_OVERRIDABLE = tuple(opt.name for opt in POLICY_OPTS)


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
