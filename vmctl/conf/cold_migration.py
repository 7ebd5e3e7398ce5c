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
]


def register_opts(conf):
    conf.register_opts(DEFAULT_OPTS)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {"DEFAULT": DEFAULT_OPTS, GROUP: OPTS}
