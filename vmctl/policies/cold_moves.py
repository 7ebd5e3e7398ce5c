"""Policies of the cold moves (POST /servers/{server_id}/action)."""

from vmctl.policies import base

MIGRATE = "os_compute_api:os-migrate-server:migrate"
RESIZE = "os_compute_api:servers:resize"
CONFIRM_RESIZE = "os_compute_api:servers:confirm_resize"
REVERT_RESIZE = "os_compute_api:servers:revert_resize"
EVACUATE = "os_compute_api:os-evacuate"

_ACTION = "/servers/{server_id}/action (%s)"

RULES = [
    base.api_rule(MIGRATE, base.ADMIN, "Cold-migrate a server",
                  [("POST", _ACTION % "migrate")]),
    base.api_rule(RESIZE, base.PROJECT_MEMBER_OR_ADMIN, "Resize a server",
                  [("POST", _ACTION % "resize")]),
    base.api_rule(CONFIRM_RESIZE, base.PROJECT_MEMBER_OR_ADMIN,
                  "Confirm a resize or cold migration",
                  [("POST", _ACTION % "confirmResize")]),
    base.api_rule(REVERT_RESIZE, base.PROJECT_MEMBER_OR_ADMIN,
                  "Revert a resize or cold migration",
                  [("POST", _ACTION % "revertResize")]),
    base.api_rule(EVACUATE, base.ADMIN, "Evacuate a server from a failed host",
                  [("POST", _ACTION % "evacuate")]),
]


def list_rules():
    return RULES
