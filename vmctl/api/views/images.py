"""Image views, in Glance v2's shape (links are relative, as Glance's)."""

from vmctl.api import views

IMAGES_PATH = "/v2/images"
IMAGE_SCHEMA = "/v2/schemas/image"
IMAGES_SCHEMA = "/v2/schemas/images"


def image(row):
    body = dict(row.properties or {})
    body.update({
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "visibility": row.visibility,
        "protected": bool(row.protected),
        "tags": list(row.tags or []),
        "disk_format": row.disk_format,
        "container_format": row.container_format,
        "size": row.size,
        "virtual_size": row.virtual_size,
        "checksum": row.checksum,
        "os_hash_algo": row.os_hash_algo,
        "os_hash_value": row.os_hash_value,
        "min_disk": row.min_disk,
        "min_ram": row.min_ram,
        "owner": row.owner,
        "created_at": views.iso_z(row.created_at),
        "updated_at": views.iso_z(row.updated_at or row.created_at),
        "self": "%s/%s" % (IMAGES_PATH, row.id),
        "file": "%s/%s/file" % (IMAGES_PATH, row.id),
        "schema": IMAGE_SCHEMA,
    })
    return body


def index(rows, first, next_query=None):
    body = {"images": [image(r) for r in rows], "first": first,
            "schema": IMAGES_SCHEMA}
    if next_query is not None:
        body["next"] = "%s?%s" % (IMAGES_PATH, next_query)
    return body
