"""[database] options: where the records live."""

from oslo_config import cfg

GROUP = "database"

OPTS = [
    cfg.StrOpt(
        "connection",
        default="sqlite:///$state_path/vmctl.sqlite",
        secret=True,
        help="SQLAlchemy URL of the database. SQLite is the embedded "
        "default; deployments use MariaDB/MySQL (mysql+pymysql://) or "
        "PostgreSQL (postgresql+psycopg://).",
    ),
    cfg.IntOpt(
        "max_pool_size",
        default=10,
        min=1,
        help="Connections kept open per process (MariaDB/PostgreSQL).",
    ),
    cfg.IntOpt(
        "connection_recycle_time",
        default=3600,
        min=1,
        help="Seconds after which a pooled connection is replaced.",
    ),
    cfg.IntOpt(
        "busy_timeout_ms",
        default=30000,
        min=0,
        help="SQLite only: milliseconds a writer waits for a lock held by "
        "another process before failing.",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
