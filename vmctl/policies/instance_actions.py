"""Policies of /servers/{server_id}/os-instance-actions."""

from vmctl.policies import base

PREFIX = "os_compute_api:os-instance-actions:%s"

LIST = PREFIX % "list"
SHOW = PREFIX % "show"
EVENTS = PREFIX % "events"
EVENTS_DETAILS = PREFIX % "events:details"

RULES = [
    base.api_rule(LIST, base.PROJECT_READER_OR_ADMIN, "List a server's actions",
                  [("GET", "/servers/{server_id}/os-instance-actions")]),
    base.api_rule(SHOW, base.PROJECT_READER_OR_ADMIN, "Show one action",
                  [("GET", "/servers/{server_id}/os-instance-actions/{request_id}")]),
    base.api_rule(EVENTS, base.ADMIN, "See an action's events before "
                  "microversion 2.51 (from 2.51 everyone sees them)",
                  [("GET", "/servers/{server_id}/os-instance-actions/{request_id}")]),
    base.api_rule(EVENTS_DETAILS, base.ADMIN, "See events' traceback and host",
                  [("GET", "/servers/{server_id}/os-instance-actions/{request_id}")]),
]


def list_rules():
    return RULES
