"""Cold migration, resize and evacuation options.

``allow_resize_to_same_host`` and ``resize_confirm_window`` live in
[DEFAULT] under Nova's names; the disk transfer has its own group.
"""

from oslo_config import cfg

GROUP = "cold_migration"

DEFAULT_OPTS = [
    cfg.BoolOpt(
        "allow_resize_to_same_host",
        default=False,
        help="Let a resize or cold migration pick the instance's own host as "
        "its destination (the scheduler still filters it).\n\nPossible values: "
        "true (a single-host cloud can resize), false (the source is always "
        "excluded).",
    ),
    cfg.IntOpt(
        "resize_confirm_window",
        default=0,
        min=0,
        help="Seconds after which a resize or cold migration left waiting for "
        "confirmation (VERIFY_RESIZE) is confirmed automatically by a "
        "conductor.\n\nPossible values: 0 (never), or a number of seconds.",
    ),
]

OPTS = [
    cfg.IntOpt(
        "transfer_attempts",
        default=3,
        min=1,
        max=20,
        help="Attempts the destination makes to copy a disk from the source "
        "before the move fails and is rolled back. A copy is retried (resumed "
        "from the last verified byte where the transport allows it) when it "
        "breaks or its checksum does not match.",
    ),
    cfg.FloatOpt(
        "transfer_retry_delay",
        default=0.5,
        min=0,
        help="Seconds between two attempts of a disk transfer (doubled after "
        "each failure).\n\nRelated options: transfer_attempts.",
    ),
    cfg.StrOpt(
        "listen_address",
        default="0.0.0.0",
        help="libvirt driver: the address the source compute's disk transfer "
        "endpoint (HTTPS, one per compute, serving only the disks of its "
        "migrations in progress, each behind its own bearer token) listens "
        "on.\n\nRelated options: listen_port, advertise_address.",
    ),
    cfg.PortOpt(
        "listen_port",
        default=0,
        help="libvirt driver: the port of the disk transfer endpoint. 0 "
        "picks a free port when the endpoint starts (the manifest the "
        "destination receives carries the URL); set a fixed port when a "
        "firewall sits between the computes.",
    ),
    cfg.StrOpt(
        "advertise_address",
        help="libvirt driver: the address other computes reach this "
        "compute's disk transfer endpoint at (put in the URL of the "
        "manifest).\n\nPossible values: an IP address or host name; unset: "
        "[libvirt] host_ip, else this host's first non-loopback IPv4 "
        "address.",
    ),
]


def register_opts(conf):
    conf.register_opts(DEFAULT_OPTS)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {"DEFAULT": DEFAULT_OPTS, GROUP: OPTS}
