"""ComputeFilter: the node's compute service is enabled and up."""


def host_passes(state, _spec):
    return state.service_up and not state.service_disabled
