"""What the scheduler knows of each compute node, cached briefly.

Host states are read from compute nodes, services and aggregates (a
host's availability zone) in three queries and
reused for ``[scheduler] host_state_cache_seconds``; a claim updates the
cached copy so consecutive placements see it. The database stays the
authority: a claim on a stale state loses its compare-and-swap and retries.
"""

import dataclasses
import threading
import time

from vmctl.db import aggregates as db_aggregates
from vmctl.db import claims as db_claims
from vmctl.db import compute_nodes as db_nodes
from vmctl.db import services as db_services


@dataclasses.dataclass
class HostState:
    node_id: int
    host: str
    node: str
    availability_zone: str
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    generation: int
    service_up: bool
    service_disabled: bool

    @property
    def free_ram_mb(self):
        return self.memory_mb * self.ram_allocation_ratio - self.memory_mb_used

    @property
    def free_vcpus(self):
        return self.vcpus * self.cpu_allocation_ratio - self.vcpus_used

    @property
    def free_disk_gb(self):
        return self.local_gb * self.disk_allocation_ratio - self.local_gb_used

    def consume(self, spec):
        self.vcpus_used += spec["vcpus"]
        self.memory_mb_used += spec["memory_mb"]
        self.local_gb_used += spec["disk_gb"]
        self.generation += 1


def _from_row(node, service, down_time, zones):
    return HostState(
        node_id=node.id, host=node.host, node=node.hypervisor_hostname,
        availability_zone=zones.get(node.host) or node.availability_zone,
        vcpus=node.vcpus,
        memory_mb=node.memory_mb, local_gb=node.local_gb,
        vcpus_used=node.vcpus_used, memory_mb_used=node.memory_mb_used,
        local_gb_used=node.local_gb_used,
        cpu_allocation_ratio=node.cpu_allocation_ratio,
        ram_allocation_ratio=node.ram_allocation_ratio,
        disk_allocation_ratio=node.disk_allocation_ratio,
        generation=node.generation,
        service_up=service is not None and db_services.is_up(service, down_time),
        service_disabled=service is None or service.disabled)


class HostStateCache:
    def __init__(self, conf, db):
        self.conf = conf
        self.db = db
        self._lock = threading.Lock()
        self._states = []
        self._read_at = 0.0

    def get(self):
        """Current host states (copies are not made: callers hold the lock)."""
        if time.monotonic() - self._read_at > self.conf.scheduler.host_state_cache_seconds:
            self.refresh()
        return self._states

    def refresh(self):
        with self.db.reader() as session:
            services = db_services.compute_services_by_host(session)
            nodes = db_nodes.list_all(session)
            zones = db_aggregates.host_zones(session)
            self._states = [_from_row(n, services.get(n.host), self.conf.service_down_time,
                                      zones) for n in nodes]
        self._read_at = time.monotonic()

    @property
    def lock(self):
        return self._lock

    def fits(self, state, spec):
        return db_claims.fits(state, spec["vcpus"], spec["memory_mb"], spec["disk_gb"]) is None
