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
        default="vmctl",
        choices=[
            ("vmctl", "tokens of the embedded identity service (/identity/v3)"),
            ("keystone", "an external Keystone, through keystonemiddleware's "
             "auth_token ([keystone_authtoken] options)"),
            ("noauth", "development only: X-Auth-Token is user:project"),
        ],
        help="How requests are authenticated. vmctl validates X-Auth-Token "
        "as a Fernet token of the embedded identity service (doc/identity.md; "
        "'vmctl-manage fernet setup' and 'vmctl-manage bootstrap' prepare it). "
        "keystone lets keystonemiddleware validate it against an external "
        "Keystone configured in [keystone_authtoken]. noauth takes identity "
        "from 'X-Auth-Token: user:project' (user 'admin' gets the admin role) "
        "and is refused unless the API listens on a loopback address.\n\n"
        "Related options: [identity] key_repository, listen.",
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
        deprecated_for_removal=True,
        deprecated_reason="Use [oslo_policy] policy_file, the option every "
        "oslo.policy service reads.",
        help="oslo.policy file overriding the defaults in code. Unset: "
        "[oslo_policy] policy_file (default policy.yaml, looked up in the "
        "config directories).",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
