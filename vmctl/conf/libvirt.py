"""[libvirt] options of the libvirt virt driver."""

from oslo_config import cfg

GROUP = "libvirt"

OPTS = [
    cfg.StrOpt(
        "virt_type",
        default="kvm",
        choices=[("kvm", "hardware virtualisation (production)"),
                 ("qemu", "software emulation (TCG): tests and labs without usable KVM")],
        help="Domain type of the guests. The agent refuses to start with "
        "'kvm' when the host cannot run KVM guests, and says so.",
    ),
    cfg.StrOpt(
        "connection_uri",
        default="",
        help="libvirt URI of this host's hypervisor. Empty: qemu:///system.",
    ),
    cfg.StrOpt(
        "migration_uri",
        default="",
        help="libvirt URI other hosts use to reach this host's hypervisor "
        "for peer-to-peer migration, e.g. qemu+tcp://10.0.0.2/system. "
        "Empty: qemu+tcp://<host>/system.",
    ),
    cfg.StrOpt(
        "host_ip",
        default="",
        help="IP address of this host reported in its inventory. Empty: "
        "the first IPv4 address of a non-loopback interface.\n\n"
        "Related options: migration_uri.",
    ),
    cfg.StrOpt(
        "instances_path",
        default="$state_path/instances",
        help="Directory holding one folder per instance (disk overlay, "
        "console log).",
    ),
    cfg.StrOpt(
        "image_cache_path",
        default="$state_path/_base",
        help="Directory of the cached base images the instance overlays are "
        "backed by.",
    ),
    cfg.IntOpt(
        "image_cache_unused_seconds",
        default=600,
        min=0,
        help="A cached base image no instance has used for this long is "
        "removed by the periodic cache cleanup.",
    ),
    cfg.IntOpt(
        "clean_shutdown_timeout",
        default=60,
        min=0,
        mutable=True,
        help="Seconds a guest gets to power off after an ACPI shutdown "
        "before it is destroyed (0 = destroy at once).",
    ),
    cfg.StrOpt(
        "cpu_mode",
        default="host-model",
        choices=["host-model", "host-passthrough", "custom", "none"],
        help="CPU model exposed to guests. Ignored (no CPU element) with "
        "virt_type=qemu unless 'custom'.",
    ),
    cfg.StrOpt(
        "cpu_model",
        default="",
        help="With cpu_mode=custom: the named CPU model (e.g. qemu64).",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
