"""Policies of live migration (admin only)."""

from vmctl.policies import base

MIGRATE_LIVE = "os_compute_api:os-migrate-server:migrate_live"
SERVER_MIGRATIONS_LIST = "os_compute_api:servers:migrations:index"
SERVER_MIGRATIONS_SHOW = "os_compute_api:servers:migrations:show"
FORCE_COMPLETE = "os_compute_api:servers:migrations:force_complete"
ABORT = "os_compute_api:servers:migrations:delete"

RULES = [
    base.api_rule(MIGRATE_LIVE, base.ADMIN, "Live-migrate a server",
                  [("POST", "/servers/{server_id}/action (os-migrateLive)")]),
    base.api_rule(SERVER_MIGRATIONS_LIST, base.ADMIN, "List a server's live migrations",
                  [("GET", "/servers/{server_id}/migrations")]),
    base.api_rule(SERVER_MIGRATIONS_SHOW, base.ADMIN, "Show a server's live migration",
                  [("GET", "/servers/{server_id}/migrations/{migration_id}")]),
    base.api_rule(FORCE_COMPLETE, base.ADMIN, "Force a live migration to complete",
                  [("POST", "/servers/{server_id}/migrations/{migration_id}/action")]),
    base.api_rule(ABORT, base.ADMIN, "Abort a live migration",
                  [("DELETE", "/servers/{server_id}/migrations/{migration_id}")]),
]


def list_rules():
    return RULES
