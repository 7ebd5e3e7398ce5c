"""Migration views: a server's live migration, and os-migrations entries."""

from vmctl import migration_states as ms
from vmctl.api import microversion as mv
from vmctl.api.views import iso_us


def _common(api, m):
    body = {
        "id": m.id,
        "status": m.status,
        "source_compute": m.source_compute,
        "source_node": m.source_node,
        "dest_compute": m.dest_compute,
        "dest_node": m.dest_node,
        "dest_host": m.dest_compute or "",
        "created_at": iso_us(m.created_at),
        "updated_at": iso_us(m.updated_at),
    }
    if api.version.matches(mv.MIGRATION_UUID_PAGING):
        body["uuid"] = m.uuid
    if api.version.matches(mv.MIGRATION_USER_PROJECT):
        body["user_id"] = m.user_id
        body["project_id"] = m.project_id
    return body


def server_migration(api, m):
    """GET /servers/{id}/migrations[/{id}]: with the progress figures."""
    body = _common(api, m)
    body["server_uuid"] = m.instance_uuid
    for kind in ("memory", "disk"):
        for figure in ("total", "processed", "remaining"):
            body["%s_%s_bytes" % (kind, figure)] = getattr(m, "%s_%s" % (kind, figure))
    return body


def migration(api, m):
    """GET /os-migrations."""
    body = _common(api, m)
    body["instance_uuid"] = m.instance_uuid
    body["old_instance_type_id"] = (m.old_flavor or {}).get("flavorid")
    body["new_instance_type_id"] = (m.new_flavor or {}).get("flavorid")
    if api.version.matches(mv.SERVER_MIGRATIONS):
        body["migration_type"] = m.migration_type
        if m.migration_type == ms.LIVE and m.status in ms.IN_PROGRESS:
            body["links"] = api.links("servers/%s/migrations" % m.instance_uuid, m.id)
    return body
