"""Client side of the compute agent's RPC API (one queue per host).

API version history:
    1.0 - initial: build_and_run_instance, run_action, terminate_instance
    1.1 - get_console_output
    1.2 - describe_instance
"""

from vmctl import rpc

VERSION = "1.2"


class ComputeAPI:
    def __init__(self, conf, transport):
        self.client = rpc.get_client(transport, conf.compute.topic, VERSION)

    def build_and_run_instance(self, ctx, host, instance, node, attempt_hosts):
        self.client.prepare(server=host).cast(
            ctx, "build_and_run_instance", instance=instance, node=node,
            attempt_hosts=attempt_hosts)

    def run_action(self, ctx, host, instance, action):
        self.client.prepare(server=host).cast(ctx, "run_action",
                                              instance=instance, action=action)

    def get_console_output(self, ctx, host, instance, length, timeout=30):
        return self.client.prepare(server=host, version="1.1", timeout=timeout).call(
            ctx, "get_console_output", instance=instance, length=length)

    def describe_instance(self, ctx, host, instance, timeout=15):
        """{"busy", "exists", "power_state"} of an instance on its host."""
        return self.client.prepare(server=host, version="1.2", timeout=timeout).call(
            ctx, "describe_instance", instance=instance)

    def terminate_instance(self, ctx, host, instance):
        self.client.prepare(server=host).cast(ctx, "terminate_instance",
                                              instance=instance)
