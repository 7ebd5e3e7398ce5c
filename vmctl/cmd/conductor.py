"""vmctl-conductor: runs every multi-step task."""

from vmctl.cmd import common


def main(argv=None):
    from vmctl.conductor import manager

    common.run_service("vmctl-conductor", manager.make_manager,
                       lambda conf: conf.conductor.topic, argv)
