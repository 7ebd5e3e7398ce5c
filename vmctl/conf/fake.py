"""[fake] options of the fake virt driver (tests and scale simulation)."""

from oslo_config import cfg

GROUP = "fake"

OPTS = [
    cfg.IntOpt("vcpus", default=16, min=1, help="vCPUs the fake host has."),
    cfg.IntOpt(
        "memory_mb", default=32768, min=1, help="MiB of RAM the fake host has."
    ),
    cfg.IntOpt(
        "disk_gb", default=1000, min=1, help="GiB of disk the fake host has."
    ),
    cfg.FloatOpt(
        "spawn_seconds",
        default=0.0,
        min=0,
        help="Seconds a spawn takes, to simulate a slow hypervisor.",
    ),
    cfg.IntOpt(
        "migration_bandwidth_mib",
        default=1000,
        min=1,
        help="MiB/s the modelled migration link carries (unless the "
        "migration policy sets a bandwidth limit).",
    ),
    cfg.FloatOpt(
        "migration_time_scale",
        default=20.0,
        min=0.01,
        help="How much faster than the wall clock modelled migrations run "
        "(1 = real time).",
    ),
    cfg.BoolOpt(
        "shared_storage",
        default=False,
        help="Computes report shared instance storage: live migrations "
        "with block_migration=auto copy no disk.",
    ),
    cfg.BoolOpt(
        "refuse_incoming_migrations",
        default=False,
        mutable=True,
        help="The destination pre-check of every incoming live migration "
        "fails: used to test that the conductor moves on to another host.",
    ),
    cfg.BoolOpt(
        "fail_builds",
        default=False,
        mutable=True,
        help="Every spawn fails: used to test reschedules.",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
