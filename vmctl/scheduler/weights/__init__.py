"""Weighers: each scores hosts; scores are normalised to [0, 1] across the
candidates, multiplied by the weigher's multiplier and summed. A positive
multiplier spreads (more free is better), a negative one packs.
"""

from vmctl.scheduler.weights import resources

ALL = (
    ("ram", resources.free_ram, lambda conf: conf.scheduler.ram_weight_multiplier),
    ("cpu", resources.free_vcpus, lambda conf: conf.scheduler.cpu_weight_multiplier),
)


def _normalise(values):
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]


def order_hosts(conf, states):
    """Candidates best first (ties broken by name, so results are stable)."""
    if not states:
        return []
    totals = [0.0] * len(states)
    for _name, score, multiplier in ALL:
        m = multiplier(conf)
        if not m:
            continue
        for i, v in enumerate(_normalise([score(s) for s in states])):
            totals[i] += m * v
    ranked = sorted(zip(totals, states), key=lambda ts: (-ts[0], ts[1].host, ts[1].node))
    return [state for _total, state in ranked]
