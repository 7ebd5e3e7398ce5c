"""AvailabilityZoneFilter: the node is in the requested zone (if any)."""


def host_passes(state, spec):
    wanted = spec.get("availability_zone")
    return not wanted or state.availability_zone == wanted
