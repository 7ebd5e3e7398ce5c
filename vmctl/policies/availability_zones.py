"""Policies of /os-availability-zone."""

from vmctl.policies import base

PREFIX = "os_compute_api:os-availability-zone:%s"

LIST = PREFIX % "list"
DETAIL = PREFIX % "detail"

RULES = [
    base.api_rule(LIST, base.ANY, "List the available availability zones",
                  [("GET", "/os-availability-zone")]),
    base.api_rule(DETAIL, base.ADMIN, "List availability zones with their hosts and services",
                  [("GET", "/os-availability-zone/detail")]),
]


def list_rules():
    return RULES
