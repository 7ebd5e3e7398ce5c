"""Policies of /os-services."""

from vmctl.policies import base

LIST = "os_compute_api:os-services:list"

RULES = [
    base.api_rule(LIST, base.ADMIN, "List services", [("GET", "/os-services")]),
]


def list_rules():
    return RULES
