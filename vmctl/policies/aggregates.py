"""Policies of /os-aggregates (admin only)."""

from vmctl.policies import base

PREFIX = "os_compute_api:os-aggregates:%s"

INDEX = PREFIX % "index"
CREATE = PREFIX % "create"
SHOW = PREFIX % "show"
UPDATE = PREFIX % "update"
DELETE = PREFIX % "delete"
ADD_HOST = PREFIX % "add_host"
REMOVE_HOST = PREFIX % "remove_host"
SET_METADATA = PREFIX % "set_metadata"

_ONE = "/os-aggregates/{aggregate_id}"
_ACTION = _ONE + "/action"

RULES = [
    base.api_rule(INDEX, base.ADMIN, "List aggregates", [("GET", "/os-aggregates")]),
    base.api_rule(CREATE, base.ADMIN, "Create an aggregate", [("POST", "/os-aggregates")]),
    base.api_rule(SHOW, base.ADMIN, "Show an aggregate", [("GET", _ONE)]),
    base.api_rule(UPDATE, base.ADMIN, "Rename an aggregate or change its zone",
                  [("PUT", _ONE)]),
    base.api_rule(DELETE, base.ADMIN, "Delete an aggregate", [("DELETE", _ONE)]),
    base.api_rule(ADD_HOST, base.ADMIN, "Add a host to an aggregate",
                  [("POST", _ACTION + " (add_host)")]),
    base.api_rule(REMOVE_HOST, base.ADMIN, "Remove a host from an aggregate",
                  [("POST", _ACTION + " (remove_host)")]),
    base.api_rule(SET_METADATA, base.ADMIN, "Set an aggregate's metadata",
                  [("POST", _ACTION + " (set_metadata)")]),
]


def list_rules():
    return RULES
