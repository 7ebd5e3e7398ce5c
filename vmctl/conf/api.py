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
        help="Most requests the API handles at once. A request takes one of "
        "these slots only once its headers and (except image data) its body "
        "have arrived, so slow clients cannot hold them.\n\nRelated options: "
        "max_connections.",
    ),
    cfg.IntOpt(
        "max_connections",
        default=128,
        min=1,
        help="vmctl-api's own server: most client connections being read or "
        "answered at once (one thread each). Idle keep-alive connections wait "
        "in a selector and hold none; connections beyond this wait in the "
        "listen queue until one is free.\n\nRelated options: threads, "
        "client_header_timeout.",
    ),
    cfg.IntOpt(
        "client_header_timeout",
        default=10,
        min=1,
        help="Seconds a client has, from its first byte, to send the request "
        "line, the headers and (except image data, which streams) the whole "
        "body. A slower client gets 408 and is disconnected: it cannot hold "
        "a connection thread longer than this.\n\nRelated options: "
        "client_socket_timeout, max_connections.",
    ),
    cfg.IntOpt(
        "client_socket_timeout",
        default=10,
        min=1,
        help="Seconds a connection may stay silent: while a request is being "
        "read (image uploads included) and between the requests of a "
        "keep-alive connection.",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=114688,
        min=1024,
        help="Largest request body in bytes (112 KiB, the default of "
        "oslo.middleware's sizelimit that Nova and Keystone use). Checked "
        "before authentication: a larger Content-Length is answered 413 "
        "without reading the body, a chunked body is cut off at this size "
        "with 413. Image data (PUT /image/v2/images/{id}/file) streams to "
        "the image store and is limited by [image] image_size_cap instead.",
    ),
    cfg.IntOpt(
        "max_request_header_size",
        default=65536,
        min=4096,
        help="vmctl-api's own server: largest request line plus headers in "
        "bytes; larger ones get 414 or 413.",
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
