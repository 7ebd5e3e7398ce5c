"""Policies of /os-services."""

from vmctl.policies import base

LIST = "os_compute_api:os-services:list"
UPDATE = "os_compute_api:os-services:update"
DELETE = "os_compute_api:os-services:delete"

RULES = [
    base.api_rule(LIST, base.ADMIN, "List services", [("GET", "/os-services")]),
    base.api_rule(UPDATE, base.ADMIN, "Enable, disable or force down a compute service",
                  [("PUT", "/os-services/{service_id}")]),
    base.api_rule(DELETE, base.ADMIN, "Delete a compute service",
                  [("DELETE", "/os-services/{service_id}")]),
]


def list_rules():
    return RULES
