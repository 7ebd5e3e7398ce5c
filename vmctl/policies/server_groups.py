"""Policies of /os-server-groups."""

from vmctl.policies import base

PREFIX = "os_compute_api:os-server-groups:%s"

INDEX = PREFIX % "index"
INDEX_ALL_PROJECTS = PREFIX % "index:all_projects"
CREATE = PREFIX % "create"
SHOW = PREFIX % "show"
DELETE = PREFIX % "delete"

RULES = [
    base.api_rule(INDEX, base.PROJECT_READER_OR_ADMIN, "List the project's server groups",
                  [("GET", "/os-server-groups")]),
    base.api_rule(INDEX_ALL_PROJECTS, base.ADMIN, "List every project's server groups",
                  [("GET", "/os-server-groups?all_projects=true")]),
    base.api_rule(CREATE, base.PROJECT_MEMBER_OR_ADMIN, "Create a server group",
                  [("POST", "/os-server-groups")]),
    base.api_rule(SHOW, base.PROJECT_READER_OR_ADMIN, "Show a server group",
                  [("GET", "/os-server-groups/{server_group_id}")]),
    base.api_rule(DELETE, base.PROJECT_MEMBER_OR_ADMIN, "Delete a server group",
                  [("DELETE", "/os-server-groups/{server_group_id}")]),
]


def list_rules():
    return RULES
