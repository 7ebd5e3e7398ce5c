"""vmctl migration list/show/abort/force-complete (admin)."""

import click

from vmctl.cli import session as cli_session
from vmctl.cli.app import find_server
from vmctl.cli.app import output_options
from vmctl.cli.app import pass_app
from vmctl.cli.app import quote
from vmctl.cli.output import CLIError

MIGRATIONS_VERSION = "2.80"
TYPES = ("live-migration", "migration", "resize", "evacuation")

MIGRATION_COLUMNS = [
    ("ID", lambda m: m.get("id")),
    ("UUID", lambda m: m.get("uuid")),
    ("Server", lambda m: m.get("instance_uuid") or m.get("server_uuid")),
    ("Type", lambda m: m.get("migration_type")),
    ("Status", lambda m: m.get("status")),
    ("Source", lambda m: m.get("source_compute")),
    ("Dest", lambda m: m.get("dest_compute")),
    ("Old Flavor", lambda m: m.get("old_instance_type_id")),
    ("New Flavor", lambda m: m.get("new_instance_type_id")),
    ("Created At", lambda m: m.get("created_at")),
    ("Updated At", lambda m: m.get("updated_at")),
]


@click.group("migration")
def migration_group():
    """Migrations of servers (admin)."""


@migration_group.command("list")
@click.option("--server", help="Only this server's migrations (name or id).")
@click.option("--status", help="Only migrations in this status.")
@click.option("--type", "kind", type=click.Choice(TYPES), help="Only this kind.")
@click.option("--host", help="Only migrations from or to this host.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (newest first).")
@output_options
@pass_app
def migration_list(app, server, status, kind, host, limit):
    """List migrations, newest first."""
    params = {"status": status, "migration_type": kind, "host": host, "limit": limit}
    if server:
        params["instance_uuid"] = find_server(app, server)["id"]
    found = app.get("/os-migrations", params=params,
                    microversion=MIGRATIONS_VERSION)["migrations"]
    app.output.list(MIGRATION_COLUMNS, found)


def find_migration(app, server_id, ref):
    """A server's migration by id or uuid: the in-progress live view (with
    progress figures) when there is one, else its os-migrations entry."""
    if str(ref).isdigit():
        try:
            return app.get("/servers/%s/migrations/%s" % (quote(server_id), ref),
                           microversion=MIGRATIONS_VERSION)["migration"]
        except cli_session.ApiError as exc:
            if exc.status not in (400, 404):
                raise
    found = app.get("/os-migrations", params={"instance_uuid": server_id},
                    microversion=MIGRATIONS_VERSION)["migrations"]
    for migration in found:
        if str(ref) in (str(migration.get("id")), migration.get("uuid")):
            return migration
    raise CLIError("server %s has no migration %s" % (server_id, ref))


@migration_group.command("show")
@click.argument("server")
@click.argument("migration")
@output_options
@pass_app
def migration_show(app, server, migration):
    """Show one migration of a server (id or uuid)."""
    app.output.record(find_migration(app, find_server(app, server)["id"], migration))


def _live_migration_id(app, server, migration):
    found = find_server(app, server)
    return found, find_migration(app, found["id"], migration)["id"]


@migration_group.command("abort")
@click.argument("server")
@click.argument("migration")
@pass_app
def migration_abort(app, server, migration):
    """Abort a live migration (the server stays where it is)."""
    found, mid = _live_migration_id(app, server, migration)
    app.compute("DELETE", "/servers/%s/migrations/%s" % (quote(found["id"]), mid),
                microversion=MIGRATIONS_VERSION)
    app.output.message("Aborting migration %s of %s." % (mid, found["name"]))


@migration_group.command("force-complete")
@click.argument("server")
@click.argument("migration")
@pass_app
def migration_force_complete(app, server, migration):
    """Force a live migration to complete (post-copy if allowed, else pause)."""
    found, mid = _live_migration_id(app, server, migration)
    app.compute("POST", "/servers/%s/migrations/%s/action" % (quote(found["id"]), mid),
                body={"force_complete": None}, microversion=MIGRATIONS_VERSION)
    app.output.message("Forcing migration %s of %s to complete." % (mid, found["name"]))
