"""[conductor] options."""

from oslo_config import cfg

GROUP = "conductor"

OPTS = [
    cfg.StrOpt(
        "topic",
        default="vmctl-conductor",
        help="Message bus topic the conductors listen on.",
    ),
    cfg.IntOpt(
        "live_migration_destination_attempts",
        default=3,
        min=1,
        help="Destinations tried for one live migration when their "
        "pre-checks fail (a named destination is tried once).",
    ),
    cfg.IntOpt(
        "stalled_task_seconds",
        default=120,
        min=5,
        help="A task (build, power action, delete) whose instance has not "
        "moved for this many seconds is healed by a conductor: finished "
        "from what the instance's compute reports now (a message was lost "
        "to a daemon that died). Checked every half of this period.",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
