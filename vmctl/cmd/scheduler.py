"""vmctl-scheduler: picks and claims hosts."""

from vmctl.cmd import common


def main(argv=None):
    from vmctl.scheduler import manager

    common.run_service("vmctl-scheduler", manager.make_manager,
                       lambda conf: conf.scheduler.topic, argv)
