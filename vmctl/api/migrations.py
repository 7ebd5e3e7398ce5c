"""GET /os-migrations: the migration records of every type (live, cold,
resize, evacuation), newest first, admin only. Starting and steering moves:
api/live_migrations.py and api/cold_moves.py."""

from vmctl import exception
from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api.views import migrations as views
from vmctl.db import migration_records as db_migrations
from vmctl.policies import migrations as policies


def list_all(api):
    """GET /os-migrations, newest first."""
    api.authorize(policies.LIST)
    names = ["instance_uuid", "status", "migration_type", "host", "source_compute"]
    if api.version.matches(mv.MIGRATION_USER_PROJECT):
        names += ["user_id", "project_id"]
    filters = {name: api.param(name) for name in names}
    paging = api.version.matches(mv.MIGRATION_UUID_PAGING)
    limit = api.limit() if paging else None
    if paging:
        filters["changes_since"], filters["changes_before"] = api.changes_window()
        filters["marker"] = api.param("marker")
    with api.db.reader() as session:
        try:
            rows = db_migrations.list_filtered(session, limit=limit, **filters)
        except exception.Invalid as exc:
            raise errors.BadRequest(exc.kwargs.get("reason", exc.message)) from None
    body = {"migrations": [views.migration(api, m) for m in rows]}
    if paging and limit and len(rows) == limit:
        body["migrations_links"] = api.next_link("os-migrations", rows[-1].uuid)
    return body
