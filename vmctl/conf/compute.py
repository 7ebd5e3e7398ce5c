"""[compute] options of the compute agent."""

from oslo_config import cfg

GROUP = "compute"

OPTS = [
    cfg.StrOpt(
        "topic",
        default="vmctl-compute",
        help="Message bus topic computes listen on (server = host).",
    ),
    cfg.StrOpt(
        "compute_driver",
        default="fake",
        choices=[("fake", "in-memory hypervisor for tests and scale"),
                 ("libvirt", "libvirt with QEMU/KVM (see [libvirt])")],
        help="Virt driver the agent runs instances with.",
    ),
    cfg.StrOpt(
        "availability_zone",
        help="Availability zone this compute node reports when no "
        "aggregate puts it in one (unset: [DEFAULT] "
        "default_availability_zone).\n\nRelated options: aggregates with "
        "availability_zone metadata (os-aggregates) take precedence.",
    ),
    cfg.FloatOpt(
        "cpu_allocation_ratio",
        default=4.0,
        min=0.1,
        help="Virtual CPUs the scheduler may place per physical CPU.",
    ),
    cfg.FloatOpt(
        "ram_allocation_ratio",
        default=1.0,
        min=0.1,
        help="Instance memory the scheduler may place per MiB of host RAM.",
    ),
    cfg.FloatOpt(
        "disk_allocation_ratio",
        default=1.0,
        min=0.1,
        help="Instance disk the scheduler may place per GiB of host disk.",
    ),
    cfg.IntOpt(
        "resource_report_interval",
        default=60,
        min=1,
        help="Seconds between two inventory reports of the resource "
        "tracker (also sent once at start).",
    ),
    cfg.IntOpt(
        "image_cache_cleanup_interval",
        default=600,
        min=1,
        help="Seconds between two runs of the image cache cleanup (drivers "
        "that cache images).\n\nRelated options: [libvirt] "
        "image_cache_unused_seconds.",
    ),
    cfg.IntOpt(
        "max_concurrent_live_migrations",
        default=1,
        min=1,
        mutable=True,
        help="Outgoing live migrations this host runs at once; more wait in "
        "status 'queued' (and can be aborted while they wait).",
    ),
    cfg.IntOpt(
        "max_incoming_live_migrations",
        default=2,
        min=1,
        help="Incoming live migrations this host accepts at once: the "
        "destination pre-check refuses more, and the conductor tries "
        "another destination.",
    ),
    cfg.IntOpt(
        "worker_threads",
        default=16,
        min=1,
        help="Threads running driver operations at once.",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
