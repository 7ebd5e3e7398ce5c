"""Policy of the migration records (GET /os-migrations, admin only)."""

from vmctl.policies import base

LIST = "os_compute_api:os-migrations:index"

RULES = [
    base.api_rule(LIST, base.ADMIN, "List migrations", [("GET", "/os-migrations")]),
]


def list_rules():
    return RULES
