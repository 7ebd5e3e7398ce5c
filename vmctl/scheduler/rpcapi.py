"""Client side of the scheduler's RPC API.

API version history:
    1.0 - initial: select_destinations
    1.1 - select_destinations: force_hosts (a named destination, still filtered)
"""

from vmctl import rpc

VERSION = "1.1"


class SchedulerAPI:
    def __init__(self, conf, transport):
        self.client = rpc.get_client(transport, conf.scheduler.topic, VERSION)

    def select_destinations(self, ctx, spec, consumers, exclude_hosts=None,
                            force_hosts=None):
        """Pick and claim a node for each consumer.

        ``spec``: {"vcpus", "memory_mb", "disk_gb", "availability_zone"}.
        ``consumers``: [{"consumer_uuid", "instance_uuid"}].
        ``force_hosts``: only these hosts are candidates (they still pass
        the filters). Returns one {"host", "node", "node_id"} or
        {"host": None, "reason"} per consumer, in order.
        """
        return self.client.prepare(version="1.1").call(
            ctx, "select_destinations", spec=spec, consumers=consumers,
            exclude_hosts=exclude_hosts or [], force_hosts=force_hosts or [])
