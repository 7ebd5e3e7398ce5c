"""[api] options for vmctl-api."""

from oslo_config import cfg

GROUP = "api"

OPTS = [
    cfg.StrOpt(
        "listen",
        default="127.0.0.1",
        help="Address the API binds to.\n\nRelated options: auth_strategy "
        "(noauth refuses any address that is not loopback).",
    ),
    cfg.PortOpt("port", default=8774, help="TCP port the API binds to."),
    cfg.IntOpt(
        "threads",
        default=16,
        min=1,
        help="Worker threads of the WSGI server.",
    ),
    cfg.StrOpt(
        "auth_strategy",
        default="noauth",
        choices=[("noauth", "development only: X-Auth-Token is user:project")],
        help="How requests are authenticated. noauth takes identity from "
        "'X-Auth-Token: user:project' (user 'admin' gets the admin role) and "
        "is refused unless the API listens on a loopback address.",
    ),
    cfg.IntOpt(
        "max_limit",
        default=1000,
        min=1,
        help="Most items a single list request returns.",
    ),
    cfg.IntOpt(
        "max_count",
        default=200,
        min=1,
        help="Largest max_count accepted by a server create request.",
    ),
    cfg.StrOpt(
        "policy_file",
        default="policy.yaml",
        help="oslo.policy file overriding the defaults in code.",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
