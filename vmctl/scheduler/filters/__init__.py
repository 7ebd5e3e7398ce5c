"""Host filters: each is a named function ``(host_state, spec) -> bool``.

``[scheduler] enabled_filters`` picks which run and in what order.
"""

from vmctl.scheduler.filters import availability_zone
from vmctl.scheduler.filters import compute
from vmctl.scheduler.filters import resources
from vmctl.scheduler.filters import server_group

ALL = {
    "ComputeFilter": compute.host_passes,
    "AvailabilityZoneFilter": availability_zone.host_passes,
    "RamFilter": resources.ram_passes,
    "CoreFilter": resources.core_passes,
    "DiskFilter": resources.disk_passes,
    "ServerGroupAntiAffinityFilter": server_group.anti_affinity_passes,
    "ServerGroupAffinityFilter": server_group.affinity_passes,
}


def enabled(names):
    unknown = [n for n in names if n not in ALL]
    if unknown:
        raise ValueError("Unknown scheduler filters: %s" % ", ".join(unknown))
    return [(name, ALL[name]) for name in names]


def filter_hosts(states, spec, names):
    """The hosts passing every filter, and for the others why not."""
    passing, rejected = list(states), {}
    for name, host_passes in enabled(names):
        kept = []
        for state in passing:
            (kept if host_passes(state, spec) else rejected.setdefault(name, [])).append(state)
        passing = kept
    return passing, {name: len(hosts) for name, hosts in rejected.items()}
