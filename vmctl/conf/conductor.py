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
        "task_threads",
        default=32,
        min=1,
        help="Threads running multi-step tasks (builds, moves).",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
