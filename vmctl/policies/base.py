"""Base rules the resource rules are written in terms of.

Three personas: ``admin`` (role admin on the admin project, ``[identity]
admin_project``; the admin role on another project grants nothing more than
member there), a project member
(role member in the target's project) and a project reader (role reader in
the target's project). Project isolation does not rest on these rules
alone: handlers also scope every database lookup to the caller's project
unless ``context_is_admin`` holds, so another project's server is a 404.
"""

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
PROJECT_MEMBER = "rule:project_member"
PROJECT_READER = "rule:project_reader"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
ANY = "@"

SCOPE = ["project"]

RULES = [
    policy.RuleDefault("context_is_admin", "role:admin and is_admin_project:True",
                       "Decides who is a cloud administrator: sees and acts on "
                       "every project, and sees admin-only attributes. The "
                       "admin role counts on the admin project only ([identity] "
                       "admin_project, Keystone's is_admin_project)."),
    policy.RuleDefault("project_member",
                       "role:member and project_id:%(project_id)s",
                       "A member of the target's project."),
    policy.RuleDefault("project_reader",
                       "role:reader and project_id:%(project_id)s",
                       "A reader of the target's project."),
    policy.RuleDefault("project_member_or_admin",
                       "rule:context_is_admin or rule:project_member",
                       "An administrator or a member of the target's project."),
    policy.RuleDefault("project_reader_or_admin",
                       "rule:context_is_admin or rule:project_reader",
                       "An administrator or a reader of the target's project."),
]


def api_rule(name, check_str, description, operations):
    """A documented rule for API ``operations`` [(method, path), ...]."""
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{"method": m, "path": p} for m, p in operations],
        scope_types=SCOPE)


def list_rules():
    return RULES
