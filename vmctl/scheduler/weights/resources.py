"""Scores of free RAM and free vCPUs."""


def free_ram(state, _spec):
    return state.free_ram_mb


def free_vcpus(state, _spec):
    return state.free_vcpus
