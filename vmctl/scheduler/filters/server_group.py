"""Server group filters: the hard policies.

``spec["group"]`` (set by the scheduler for a member of a group) is
{"policy", "max_server_per_host", "hosts": Counter {host: other members}}.
"""

ANTI_AFFINITY = "anti-affinity"
AFFINITY = "affinity"


def anti_affinity_passes(state, spec):
    """ServerGroupAntiAffinityFilter: fewer than ``max_server_per_host``
    (default 1) other members already on the host."""
    group = spec.get("group")
    if not group or group["policy"] != ANTI_AFFINITY:
        return True
    limit = group.get("max_server_per_host") or 1
    return group["hosts"].get(state.host, 0) < limit


def affinity_passes(state, spec):
    """ServerGroupAffinityFilter: the host of the other members (any host
    for the first one)."""
    group = spec.get("group")
    if not group or group["policy"] != AFFINITY:
        return True
    return not group["hosts"] or state.host in group["hosts"]
