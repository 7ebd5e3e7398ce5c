"""Policies of the embedded identity service (/identity/v3).

Administration (users, projects, roles, role assignments) is admin-only;
a user may read itself, list its own projects, change its own password and
validate its own tokens.
"""

from vmctl.policies import base

PREFIX = "identity:%s"

ADMIN_OR_SELF = "rule:context_is_admin or user_id:%(user_id)s"

LIST_USERS = PREFIX % "list_users"
GET_USER = PREFIX % "get_user"
CREATE_USER = PREFIX % "create_user"
UPDATE_USER = PREFIX % "update_user"
DELETE_USER = PREFIX % "delete_user"
CHANGE_PASSWORD = PREFIX % "change_password"
LIST_USER_PROJECTS = PREFIX % "list_user_projects"
LIST_PROJECTS = PREFIX % "list_projects"
GET_PROJECT = PREFIX % "get_project"
CREATE_PROJECT = PREFIX % "create_project"
UPDATE_PROJECT = PREFIX % "update_project"
DELETE_PROJECT = PREFIX % "delete_project"
LIST_ROLES = PREFIX % "list_roles"
GET_ROLE = PREFIX % "get_role"
CREATE_ROLE = PREFIX % "create_role"
DELETE_ROLE = PREFIX % "delete_role"
LIST_GRANTS = PREFIX % "list_grants"
CHECK_GRANT = PREFIX % "check_grant"
CREATE_GRANT = PREFIX % "create_grant"
REVOKE_GRANT = PREFIX % "revoke_grant"
LIST_ROLE_ASSIGNMENTS = PREFIX % "list_role_assignments"
LIST_DOMAINS = PREFIX % "list_domains"
GET_DOMAIN = PREFIX % "get_domain"
VALIDATE_TOKEN = PREFIX % "validate_token"
REVOKE_TOKEN = PREFIX % "revoke_token"

V3 = "/identity/v3"
USER = V3 + "/users/{user_id}"
PROJECT = V3 + "/projects/{project_id}"
GRANT = PROJECT + "/users/{user_id}/roles/{role_id}"

RULES = [
    base.api_rule(LIST_USERS, base.ADMIN, "List users", [("GET", V3 + "/users")]),
    base.api_rule(GET_USER, ADMIN_OR_SELF, "Show a user (administrators, or the user itself)",
                  [("GET", USER)]),
    base.api_rule(CREATE_USER, base.ADMIN, "Create a user", [("POST", V3 + "/users")]),
    base.api_rule(UPDATE_USER, base.ADMIN,
                  "Update a user (name, password, enabled, ...); disabling it or "
                  "setting its password invalidates its tokens", [("PATCH", USER)]),
    base.api_rule(DELETE_USER, base.ADMIN, "Delete a user", [("DELETE", USER)]),
    base.api_rule(CHANGE_PASSWORD, ADMIN_OR_SELF,
                  "Change one's own password (the original password is checked)",
                  [("POST", USER + "/password")]),
    base.api_rule(LIST_USER_PROJECTS, ADMIN_OR_SELF,
                  "List the projects a user has a role on",
                  [("GET", USER + "/projects")]),
    base.api_rule(LIST_PROJECTS, base.ADMIN, "List projects", [("GET", V3 + "/projects")]),
    base.api_rule(GET_PROJECT, "rule:context_is_admin or project_id:%(project_id)s",
                  "Show a project (administrators, or a token scoped to it)",
                  [("GET", PROJECT)]),
    base.api_rule(CREATE_PROJECT, base.ADMIN, "Create a project",
                  [("POST", V3 + "/projects")]),
    base.api_rule(UPDATE_PROJECT, base.ADMIN, "Update a project", [("PATCH", PROJECT)]),
    base.api_rule(DELETE_PROJECT, base.ADMIN, "Delete a project", [("DELETE", PROJECT)]),
    base.api_rule(LIST_ROLES, base.ADMIN, "List roles", [("GET", V3 + "/roles")]),
    base.api_rule(GET_ROLE, base.ADMIN, "Show a role", [("GET", V3 + "/roles/{role_id}")]),
    base.api_rule(CREATE_ROLE, base.ADMIN, "Create a role", [("POST", V3 + "/roles")]),
    base.api_rule(DELETE_ROLE, base.ADMIN, "Delete a role",
                  [("DELETE", V3 + "/roles/{role_id}")]),
    base.api_rule(LIST_GRANTS, base.ADMIN, "List a user's roles on a project",
                  [("GET", PROJECT + "/users/{user_id}/roles")]),
    base.api_rule(CHECK_GRANT, base.ADMIN, "Check a role assignment",
                  [("GET", GRANT), ("HEAD", GRANT)]),
    base.api_rule(CREATE_GRANT, base.ADMIN, "Assign a role to a user on a project",
                  [("PUT", GRANT)]),
    base.api_rule(REVOKE_GRANT, base.ADMIN, "Remove a role assignment", [("DELETE", GRANT)]),
    base.api_rule(LIST_ROLE_ASSIGNMENTS, base.ADMIN,
                  "List role assignments (filters user.id, scope.project.id, role.id)",
                  [("GET", V3 + "/role_assignments")]),
    base.api_rule(LIST_DOMAINS, base.ANY, "List domains (only Default exists)",
                  [("GET", V3 + "/domains")]),
    base.api_rule(GET_DOMAIN, base.ANY, "Show the Default domain",
                  [("GET", V3 + "/domains/{domain_id}")]),
    base.api_rule(VALIDATE_TOKEN, ADMIN_OR_SELF,
                  "Validate a token (administrators, or the token's own user)",
                  [("GET", V3 + "/auth/tokens"), ("HEAD", V3 + "/auth/tokens")]),
    base.api_rule(REVOKE_TOKEN, ADMIN_OR_SELF,
                  "Revoke a token (administrators, or the token's own user)",
                  [("DELETE", V3 + "/auth/tokens")]),
]


def list_rules():
    return RULES
