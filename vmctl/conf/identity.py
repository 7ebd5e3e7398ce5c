"""[identity] options: the embedded identity service (Keystone v3 subset)."""

from oslo_config import cfg

GROUP = "identity"

OPTS = [
    cfg.StrOpt(
        "key_repository",
        default="/etc/vmctl/fernet-keys",
        help="Directory of the Fernet keys that sign and encrypt tokens. "
        "'vmctl-manage fernet setup' creates it (mode 0700, keys 0600); "
        "'vmctl-manage fernet rotate' rotates the keys. Key 0 is the staged "
        "key, the highest number the primary (it issues tokens), the others "
        "secondary (they only validate). Every vmctl-api must see the same "
        "keys.\n\nRelated options: max_active_keys, [api] auth_strategy.",
    ),
    cfg.IntOpt(
        "max_active_keys",
        default=3,
        min=2,
        help="How many keys the repository keeps after a rotation: the "
        "staged key, the primary key and max_active_keys - 2 secondary keys. "
        "A token outlives the rotations that happen before it expires only "
        "while its key is kept, so keep max_active_keys - 2 rotations "
        "longer than token_expiration.\n\nRelated options: token_expiration.",
    ),
    cfg.IntOpt(
        "token_expiration",
        default=3600,
        min=60,
        help="Lifetime of a token in seconds.",
    ),
    cfg.IntOpt(
        "token_cache_seconds",
        default=5,
        min=0,
        help="vmctl-api: how long a validated token is taken as valid without "
        "looking at the database again (0: every request looks). A change "
        "made through this API process's identity API (disabling a user, a "
        "new password, a role removed, a revocation) empties the cache at "
        "once; other API processes and vmctl-manage see it within this "
        "many seconds.",
    ),
    cfg.IntOpt(
        "password_hash_rounds",
        default=12,
        min=4,
        max=31,
        help="bcrypt cost factor of new password hashes (2^N rounds). Each "
        "step doubles the time a password check takes, for attackers and for "
        "every password authentication alike. Existing hashes keep theirs.",
    ),
    cfg.StrOpt(
        "public_endpoint",
        help="Base URL of vmctl-api as clients see it (e.g. "
        "https://cloud.example.com:8774), used in the service catalog of "
        "tokens, the links of the identity API and the WWW-Authenticate "
        "header of a 401. Unset: http://<[api] listen>:<[api] port> (the "
        "host name when listening on every address), never the Host header "
        "a client sent. Set it whenever clients reach the API through a "
        "proxy or by a name (devstack does).",
    ),
    cfg.IntOpt(
        "lockout_failure_attempts",
        default=0,
        min=0,
        help="Failed password authentications in a row after which a user "
        "is locked out for lockout_duration seconds (as Keystone's option of "
        "the same name). During a lockout even the right password gets the "
        "same 401 as a wrong one. 0 (the default, as in Keystone): no "
        "lockout, because anyone who knows a user name could lock that "
        "user out; the per-source throttle (auth_failure_burst) is on.\n\n"
        "Related options: lockout_duration.",
    ),
    cfg.IntOpt(
        "lockout_duration",
        default=1800,
        min=1,
        help="Seconds a locked-out user stays locked out after its last "
        "failed attempt.\n\nRelated options: lockout_failure_attempts.",
    ),
    cfg.IntOpt(
        "auth_failure_burst",
        default=10,
        min=0,
        help="Failed token requests (POST /identity/v3/auth/tokens) one "
        "source address may make before it is throttled: then every token "
        "request from it is answered 429 with Retry-After until "
        "auth_failure_interval has forgiven a failure. Successful requests "
        "cost nothing. 0: no throttle. Behind a proxy every client has the "
        "proxy's address: throttle there instead.\n\nRelated options: "
        "auth_failure_interval.",
    ),
    cfg.IntOpt(
        "auth_failure_interval",
        default=6,
        min=1,
        help="Seconds after which the throttle forgives one failed token "
        "request of a source (6: ten a minute).\n\nRelated options: "
        "auth_failure_burst.",
    ),
    cfg.StrOpt(
        "admin_project",
        default="admin",
        help="Name of the project whose ``admin`` role holders are cloud "
        "administrators (Keystone's ``is_admin_project``): they see and act "
        "on every project. The ``admin`` role on any other project is an "
        "administrator of that project only, with no more power than a "
        "member. With ``[api] auth_strategy = keystone`` the token's "
        "``X-Is-Admin-Project`` header decides when Keystone sends it. "
        "Empty: the admin role on any project is cloud admin (Keystone's "
        "behaviour with no admin project; what test suites that give the "
        "admin role on projects of their own, such as Tempest's dynamic "
        "credentials, expect). "
        "Related options: ``[api] auth_strategy``.",
    ),
    cfg.StrOpt(
        "region",
        default="RegionOne",
        help="Region name of the endpoints in the service catalog.",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
