"""RAM, vCPU and disk filters, honouring the node's allocation ratios."""


def ram_passes(state, spec):
    return state.free_ram_mb >= spec["memory_mb"]


def core_passes(state, spec):
    return state.free_vcpus >= spec["vcpus"]


def disk_passes(state, spec):
    return state.free_disk_gb >= spec["disk_gb"]
