"""[scheduler] options: filters, weighers, claims."""

from oslo_config import cfg

GROUP = "scheduler"

OPTS = [
    cfg.StrOpt(
        "topic",
        default="vmctl-scheduler",
        help="Message bus topic the schedulers listen on.",
    ),
    cfg.ListOpt(
        "enabled_filters",
        default=[
            "ComputeFilter",
            "AvailabilityZoneFilter",
            "RamFilter",
            "CoreFilter",
            "DiskFilter",
            "ServerGroupAntiAffinityFilter",
            "ServerGroupAffinityFilter",
        ],
        mutable=True,
        help="Filters a host must pass, in order.\n\nPossible values: "
        "ComputeFilter, AvailabilityZoneFilter, RamFilter, CoreFilter, "
        "DiskFilter, ServerGroupAntiAffinityFilter (hard anti-affinity and "
        "its max_server_per_host rule), ServerGroupAffinityFilter (hard "
        "affinity).",
    ),
    cfg.FloatOpt(
        "ram_weight_multiplier",
        default=1.0,
        mutable=True,
        help="Weight of free RAM. Positive spreads instances over hosts, "
        "negative packs them.",
    ),
    cfg.FloatOpt(
        "cpu_weight_multiplier",
        default=1.0,
        mutable=True,
        help="Weight of free vCPUs. Positive spreads, negative packs.",
    ),
    cfg.FloatOpt(
        "soft_affinity_weight_multiplier",
        default=10.0,
        min=0,
        mutable=True,
        help="Weight of the members of a soft-affinity server group already "
        "on a host (more is better). Larger than the resource weighers' "
        "multipliers so the policy wins over spreading.",
    ),
    cfg.FloatOpt(
        "soft_anti_affinity_weight_multiplier",
        default=10.0,
        min=0,
        mutable=True,
        help="Weight of the members of a soft-anti-affinity server group "
        "already on a host (fewer is better). Larger than the resource "
        "weighers' multipliers so the policy wins over packing.",
    ),
    cfg.FloatOpt(
        "host_state_cache_seconds",
        default=1.0,
        min=0,
        help="Seconds the scheduler reuses host states read from the "
        "database before reading them again. Claims always check the "
        "database, so a stale cache costs a retry, never an overcommit.",
    ),
    cfg.IntOpt(
        "max_claim_retries",
        default=8,
        min=1,
        help="Times a claim that lost a race on a host's generation is "
        "retried before the host is given up.",
    ),
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        help="Hosts tried for one build: the first plus reschedules when a "
        "compute fails to spawn.",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
