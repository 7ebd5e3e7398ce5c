"""vmctl-compute: the agent on each hypervisor host."""

from vmctl.cmd import common


def main(argv=None):
    from vmctl.compute import manager

    common.run_service("vmctl-compute", manager.make_manager,
                       lambda conf: conf.compute.topic, argv)
