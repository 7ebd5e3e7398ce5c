"""Server group weighers: the soft policies, scored by the members of the
group already on a host (see filters/server_group.py for ``spec["group"]``)."""

SOFT_AFFINITY = "soft-affinity"
SOFT_ANTI_AFFINITY = "soft-anti-affinity"


def _members_on(state, spec, policy):
    group = spec.get("group")
    if not group or group["policy"] != policy:
        return 0
    return group["hosts"].get(state.host, 0)


def soft_affinity(state, spec):
    """More members there is better."""
    return _members_on(state, spec, SOFT_AFFINITY)


def soft_anti_affinity(state, spec):
    """Fewer members there is better."""
    return -_members_on(state, spec, SOFT_ANTI_AFFINITY)
