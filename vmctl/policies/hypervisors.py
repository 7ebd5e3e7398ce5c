"""Policies of /os-hypervisors."""

from vmctl.policies import base

PREFIX = "os_compute_api:os-hypervisors:%s"

LIST = PREFIX % "list"
DETAIL = PREFIX % "list-detail"
SHOW = PREFIX % "show"

RULES = [
    base.api_rule(LIST, base.ADMIN, "List hypervisors", [("GET", "/os-hypervisors")]),
    base.api_rule(DETAIL, base.ADMIN, "List hypervisors with details",
                  [("GET", "/os-hypervisors/detail")]),
    base.api_rule(SHOW, base.ADMIN, "Show a hypervisor",
                  [("GET", "/os-hypervisors/{hypervisor_id}")]),
]


def list_rules():
    return RULES
