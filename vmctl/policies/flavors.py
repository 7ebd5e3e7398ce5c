"""Policies of /flavors and their extra specs."""

from vmctl.policies import base

PREFIX = "os_compute_api:os-flavors:%s"
SPECS = "os_compute_api:os-flavor-extra-specs:%s"

LIST = PREFIX % "index"
SHOW = PREFIX % "show"
CREATE = "os_compute_api:os-flavor-manage:create"
DELETE = "os_compute_api:os-flavor-manage:delete"
LIST_ALL = PREFIX % "index:all"
SPECS_INDEX = SPECS % "index"
SPECS_SHOW = SPECS % "show"
SPECS_CREATE = SPECS % "create"
SPECS_UPDATE = SPECS % "update"
SPECS_DELETE = SPECS % "delete"

RULES = [
    base.api_rule(LIST, base.ANY, "List flavors",
                  [("GET", "/flavors"), ("GET", "/flavors/detail")]),
    base.api_rule(SHOW, base.ANY, "Show a flavor", [("GET", "/flavors/{flavor_id}")]),
    base.api_rule(LIST_ALL, base.ADMIN,
                  "See private flavors and filter on is_public",
                  [("GET", "/flavors"), ("GET", "/flavors/detail")]),
    base.api_rule(CREATE, base.ADMIN, "Create a flavor", [("POST", "/flavors")]),
    base.api_rule(DELETE, base.ADMIN, "Delete a flavor",
                  [("DELETE", "/flavors/{flavor_id}")]),
    base.api_rule(SPECS_INDEX, base.ANY, "List a flavor's extra specs",
                  [("GET", "/flavors/{flavor_id}/os-extra_specs")]),
    base.api_rule(SPECS_SHOW, base.ANY, "Show one extra spec",
                  [("GET", "/flavors/{flavor_id}/os-extra_specs/{key}")]),
    base.api_rule(SPECS_CREATE, base.ADMIN, "Create or update extra specs",
                  [("POST", "/flavors/{flavor_id}/os-extra_specs")]),
    base.api_rule(SPECS_UPDATE, base.ADMIN, "Update one extra spec",
                  [("PUT", "/flavors/{flavor_id}/os-extra_specs/{key}")]),
    base.api_rule(SPECS_DELETE, base.ADMIN, "Delete one extra spec",
                  [("DELETE", "/flavors/{flavor_id}/os-extra_specs/{key}")]),
]


def list_rules():
    return RULES
