"""Client side of the scheduler's RPC API.

API version history:
    1.0 - initial: select_destinations
"""

from vmctl import rpc

VERSION = "1.0"


class SchedulerAPI:
    def __init__(self, conf, transport):
        self.client = rpc.get_client(transport, conf.scheduler.topic, VERSION)

    def select_destinations(self, ctx, spec, consumers, exclude_hosts=None):
        """Pick and claim a node for each consumer.

        ``spec``: {"vcpus", "memory_mb", "disk_gb", "availability_zone"}.
        ``consumers``: [{"consumer_uuid", "instance_uuid"}].
        Returns one {"host", "node", "node_id"} or None per consumer, in order.
        """
        return self.client.prepare().call(ctx, "select_destinations", spec=spec,
                                          consumers=consumers,
                                          exclude_hosts=exclude_hosts or [])
