"""Scores of free RAM and free vCPUs."""


def free_ram(state):
    return state.free_ram_mb


def free_vcpus(state):
    return state.free_vcpus
