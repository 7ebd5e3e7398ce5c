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
        "stalled_build_seconds",
        default=120,
        min=5,
        help="A build still waiting in task_state 'scheduling' this many "
        "seconds after its last update (its conductor died mid-task) is "
        "driven again by a conductor. Checked every half of this period.",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
