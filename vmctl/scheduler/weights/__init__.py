"""Weighers: each scores hosts; scores are normalised to [0, 1] across the
candidates, multiplied by the weigher's multiplier and summed. A positive
multiplier spreads (more free is better), a negative one packs.
"""

from vmctl.scheduler.weights import resources
from vmctl.scheduler.weights import server_group

# (name, score(host_state, spec), multiplier(conf))
ALL = (
    ("ram", resources.free_ram, lambda conf: conf.scheduler.ram_weight_multiplier),
    ("cpu", resources.free_vcpus, lambda conf: conf.scheduler.cpu_weight_multiplier),
    ("soft-affinity", server_group.soft_affinity,
     lambda conf: conf.scheduler.soft_affinity_weight_multiplier),
    ("soft-anti-affinity", server_group.soft_anti_affinity,
     lambda conf: conf.scheduler.soft_anti_affinity_weight_multiplier),
)


def _normalise(values):
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]


def order_hosts(conf, states, spec=None):
    """Candidates best first (ties broken by name, so results are stable)."""
    if not states:
        return []
    totals = [0.0] * len(states)
    for _name, score, multiplier in ALL:
        m = multiplier(conf)
        if not m:
            continue
        for i, v in enumerate(_normalise([score(s, spec or {}) for s in states])):
            totals[i] += m * v
    ranked = sorted(zip(totals, states), key=lambda ts: (-ts[0], ts[1].host, ts[1].node))
    return [state for _total, state in ranked]
