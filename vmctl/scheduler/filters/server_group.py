"""Server group filters: the hard policies.

``spec["group"]`` (set by the scheduler for a member of a group) is
{"policy", "max_server_per_host", "hosts": Counter {host: other members}}.
The rules themselves (``*_allows``) also serve the compute's late check
(conductor/tasks/build.py), so both judge a host alike.
"""

ANTI_AFFINITY = "anti-affinity"
AFFINITY = "affinity"


def anti_affinity_allows(hosts, host, max_server_per_host=None):
    """Fewer than ``max_server_per_host`` (default 1) other members on ``host``."""
    return hosts.get(host, 0) < (max_server_per_host or 1)


def affinity_allows(hosts, host):
    """``host`` is where the other members are (any host for the first one)."""
    return not hosts or host in hosts


def anti_affinity_passes(state, spec):
    """ServerGroupAntiAffinityFilter."""
    group = spec.get("group")
    if not group or group["policy"] != ANTI_AFFINITY:
        return True
    return anti_affinity_allows(group["hosts"], state.host, group.get("max_server_per_host"))


def affinity_passes(state, spec):
    """ServerGroupAffinityFilter."""
    group = spec.get("group")
    if not group or group["policy"] != AFFINITY:
        return True
    return affinity_allows(group["hosts"], state.host)
