"""[DEFAULT] options shared by every daemon."""

import socket

from oslo_config import cfg

OPTS = [
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<hostname>",
        help="Name of this node. Compute agents are addressed by it on the "
        "message bus and it is recorded as the host of every instance they "
        "run.\n\nPossible values: a unique name per compute node.",
    ),
    cfg.StrOpt(
        "state_path",
        default="/var/lib/vmctl",
        help="Top directory for vmctl's local state (the embedded SQLite "
        "database by default).",
    ),
    cfg.IntOpt(
        "report_interval",
        default=10,
        min=1,
        max=300,
        help="Seconds between two heartbeats of a service.\n\nRelated "
        "options: service_down_time must be larger.",
    ),
    cfg.IntOpt(
        "service_down_time",
        default=60,
        min=2,
        help="A service whose last heartbeat is older than this many seconds "
        "is reported as down and is not scheduled to.\n\nRelated options: "
        "report_interval.",
    ),
    cfg.StrOpt(
        "default_availability_zone",
        default="nova",
        help="Availability zone of a compute host that is in no aggregate "
        "with an availability_zone and sets no [compute] "
        "availability_zone.\n\nRelated options: [compute] "
        "availability_zone; aggregates (os-aggregates) override both.",
    ),
    cfg.IntOpt(
        "graceful_shutdown_timeout",
        default=60,
        min=0,
        mutable=True,
        help="Seconds a daemon waits on SIGTERM for in-flight requests to "
        "finish before it exits anyway (0 = wait forever).",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS)


def list_opts():
    return {"DEFAULT": OPTS}
