"""The image service, Glance v2-compatible, under /image.

Versions (``/image``, ``/image/versions``), schemas, images (create, list,
show, PATCH, delete) and their data (upload, download). Statuses move along
vmctl/images/states.py; the data lives in ``[image] data_dir``
(vmctl/images/store.py). Another project's private or shared image is a
404, as is a read that policy denies.
"""

import urllib.parse
import uuid

from vmctl.api import errors
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.api.schemas import images as schema
from vmctl.api.views import images as views
from vmctl.db import images as db_images
from vmctl.images import data as image_data
from vmctl.images import exception as image_exc
from vmctl.images import limits as image_limits
from vmctl.images import states
from vmctl.images import store as image_store
from vmctl.policies import images as policies

PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",)
OCTET_STREAM = "application/octet-stream"
# Download header carrying the data's hash: "<os_hash_algo> <os_hash_value>".
HASH_HEADER = "OpenStack-Image-Hash"
DEFAULT_VISIBILITY = "shared"  # as Glance: private until members exist

# (id, status) of the versions listed; all are served by the same /v2.
VERSIONS = [("v2.7", "CURRENT")] + [("v2.%d" % n, "SUPPORTED") for n in range(6, -1, -1)]

BASE_KEYS = tuple(schema.create["properties"])
FILTERS = ("id", "name", "status", "owner", "disk_format", "container_format")
LIST_PARAMS = FILTERS + ("visibility", "protected", "limit", "marker")


class OverLimit(errors.ApiError):
    code = 413


# --- versions and schemas ---------------------------------------------------

def _versions(api):
    href = "%s/image/v2/" % api.base_url
    return [{"id": vid, "status": status, "links": [{"rel": "self", "href": href}]}
            for vid, status in VERSIONS]


def versions(api):
    """``GET /image``: 300 Multiple Choices, as Glance's root."""
    return Reply(300, {"versions": _versions(api)})


def list_versions(api):
    return {"versions": _versions(api)}


def _image_schema():
    properties = dict(schema.create["properties"])
    for key in ("size", "virtual_size", "min_disk", "min_ram"):
        properties[key] = {"type": ["integer", "null"], "readOnly": key in schema.READ_ONLY}
    for key in ("status", "checksum", "os_hash_algo", "os_hash_value",
                "created_at", "updated_at", "self", "file", "schema"):
        properties[key] = {"type": ["string", "null"], "readOnly": True}
    properties["status"]["enum"] = list(states.STATUSES)
    return {"name": "image", "properties": properties,
            "additionalProperties": {"type": "string"},
            "links": [{"rel": "self", "href": "{self}"},
                      {"rel": "enclosure", "href": "{file}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def image_schema(api):
    return _image_schema()


def images_schema(api):
    return {"name": "images",
            "properties": {"images": {"type": "array", "items": _image_schema()},
                           "schema": {"type": "string"},
                           "first": {"type": "string"},
                           "next": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"},
                      {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


# --- images -------------------------------------------------------------------

def _target(row):
    return {"project_id": row.owner, "visibility": row.visibility}


def _find(api, session, image_id):
    """The image if the caller may see it, else ImageNotFound (404)."""
    scope = None if api.can(policies.READ_ANY) else api.project_scope()
    row = db_images.get(session, image_id, scope)
    if not api.can(policies.GET, _target(row)):
        raise image_exc.ImageNotFound(image_id=image_id)
    return row


def _store(api):
    return image_store.FileStore(api.conf.image.data_dir)


def show(api, image_id):
    with api.db.reader() as session:
        return views.image(_find(api, session, image_id))


@validation.request_schema(schema.create)
def create(api):
    body = api.body(schema.create)
    extra = _check_keys(body)
    owner = body.get("owner") or api.ctx.project_id
    api.authorize(policies.ADD, {"project_id": owner})
    visibility = body.get("visibility", DEFAULT_VISIBILITY)
    _authorize_visibility(api, visibility, owner)
    values = {
        "id": (body.get("id") or str(uuid.uuid4())).lower(),
        "name": body.get("name"),
        "status": states.QUEUED,
        "visibility": visibility,
        "protected": body.get("protected", False),
        "disk_format": body.get("disk_format"),
        "container_format": body.get("container_format"),
        "min_disk": body.get("min_disk", 0),
        "min_ram": body.get("min_ram", 0),
        "owner": owner,
        "tags": _unique(body.get("tags", [])),
        "properties": extra,
    }
    with api.db.transaction() as session:
        image_limits.check_count(session, api.conf, owner)
        row = db_images.create(session, values)
        location = "%s/image%s" % (api.base_url, views.image(row)["self"])
        return Reply(201, views.image(row), headers={"Location": location})


def _check_keys(body):
    """The extra properties of ``body``; 403 for read-only or reserved keys."""
    extra = {}
    for key, value in body.items():
        if key in schema.READ_ONLY:
            raise errors.Forbidden("Attribute '%s' is read-only." % key)
        if key.startswith(schema.RESERVED_PREFIX):
            raise errors.Forbidden("Attribute '%s' is reserved." % key)
        if key in BASE_KEYS:
            continue
        if not key or len(key) > schema.MAX_PROPERTY_KEY:
            raise errors.BadRequest("Invalid property name %r: 1 to %d characters."
                                    % (key[:300], schema.MAX_PROPERTY_KEY))
        extra[key] = value
    if len(extra) > schema.MAX_PROPERTIES:
        raise OverLimit("Too many image properties: %d (maximum %d)."
                        % (len(extra), schema.MAX_PROPERTIES))
    return extra


def _authorize_visibility(api, visibility, owner):
    if visibility == "public":
        api.authorize(policies.PUBLICIZE, {"project_id": owner})
    elif visibility == "community":
        api.authorize(policies.COMMUNITIZE, {"project_id": owner})


def _unique(tags):
    return list(dict.fromkeys(tags))


def index(api):
    api.authorize(policies.LIST)
    params = api.req.GET
    unknown = sorted(set(params) - set(LIST_PARAMS))
    if unknown:
        raise errors.BadRequest("Unsupported query parameter(s): %s. Supported: %s."
                                % (", ".join(unknown), ", ".join(LIST_PARAMS)))
    visibility = params.get("visibility")
    if visibility is not None and visibility not in schema.VISIBILITIES + ["all"]:
        raise errors.BadRequest("Invalid visibility value: %s" % visibility)
    equal = {key: _filter_value(params.get(key)) for key in FILTERS}
    if params.get("protected") is not None:
        equal["protected"] = _bool_param("protected", params["protected"])
    limit = api.limit()
    marker = params.get("marker")
    with api.db.reader() as session:
        try:
            rows = db_images.list_filtered(session, api.project_scope(), visibility,
                                           limit=limit, marker=marker, **equal)
        except image_exc.ImageNotFound:
            raise errors.BadRequest("marker %s could not be found." % marker) from None
        shown = [r for r in rows if api.can(policies.GET, _target(r))]
    query = [(k, v) for k, v in params.items() if k != "marker"]
    first = views.IMAGES_PATH + ("?" + urllib.parse.urlencode(query) if query else "")
    next_query = None
    if rows and len(rows) == limit:
        next_query = urllib.parse.urlencode(query + [("marker", rows[-1].id)])
    return views.index(shown, first, next_query)


def _filter_value(value):
    """``in:a,b`` (Glance's operator, values optionally double-quoted) -> a list."""
    if value is None or not value.startswith("in:"):
        return value
    return [v.strip().strip('"') for v in value[3:].split(",") if v.strip()]


def _bool_param(name, value):
    if value.lower() not in ("true", "false"):
        raise errors.BadRequest("Invalid %s value: %s (true or false)." % (name, value))
    return value.lower() == "true"


@validation.request_schema(schema.patch, content_type=PATCH_TYPES[0])
def update(api, image_id):
    """PATCH with a JSON patch (application/openstack-images-v2.1-json-patch)."""
    if api.req.content_type not in PATCH_TYPES:
        raise errors.UnsupportedMediaType(
            "Unsupported Content-Type %s: use %s" % (api.req.content_type or "(none)",
                                                     PATCH_TYPES[0]))
    ops = api.body(schema.patch)
    with api.db.transaction() as session:
        row = _find(api, session, image_id)
        api.authorize(policies.MODIFY, _target(row))
        doc = _editable(row)
        for op in ops:
            _apply(doc, op)
        validation.validate(schema.patched, doc)
        values = _changes(api, row, doc)
        if values:
            db_images.update(session, row, values)
        return views.image(row)


def _editable(row):
    doc = dict(row.properties or {})
    doc.update({"name": row.name, "visibility": row.visibility,
                "protected": bool(row.protected), "disk_format": row.disk_format,
                "container_format": row.container_format,
                "min_disk": row.min_disk, "min_ram": row.min_ram,
                "tags": list(row.tags or [])})
    return doc


def _apply(doc, op):
    path = op["path"][1:]
    if "/" in path:
        raise errors.BadRequest("Invalid JSON pointer for this resource: '%s'" % op["path"])
    key = path.replace("~1", "/").replace("~0", "~")
    if key in schema.READ_ONLY or key in ("id", "owner"):
        raise errors.Forbidden("Attribute '%s' is read-only." % key)
    if key.startswith(schema.RESERVED_PREFIX):
        raise errors.Forbidden("Attribute '%s' is reserved." % key)
    if not key or len(key) > schema.MAX_PROPERTY_KEY:
        raise errors.BadRequest("Invalid property name %r." % key[:300])
    if op["op"] != "remove" and "value" not in op:
        raise errors.BadRequest("Operation '%s' on %s needs a value." % (op["op"], op["path"]))
    if op["op"] == "remove" and key in BASE_KEYS:
        raise errors.Forbidden("Attribute '%s' cannot be removed." % key)
    if op["op"] != "add" and key not in doc:
        raise errors.Conflict("Property %s does not exist." % key)
    if op["op"] == "remove":
        del doc[key]
    else:
        doc[key] = op["value"]


def _changes(api, row, doc):
    values = {key: doc.pop(key) for key in list(doc) if key in BASE_KEYS}
    values["tags"] = _unique(values["tags"])
    values["properties"] = doc
    if len(doc) > schema.MAX_PROPERTIES:
        raise OverLimit("Too many image properties: %d (maximum %d)."
                        % (len(doc), schema.MAX_PROPERTIES))
    for key in ("disk_format", "container_format"):
        if values[key] != getattr(row, key) and row.status != states.QUEUED:
            raise errors.Forbidden("Attribute %s can only be changed while the "
                                   "image is queued." % key)
    if values["visibility"] != row.visibility:
        _authorize_visibility(api, values["visibility"], row.owner)
    current = _editable(row)
    return {k: v for k, v in values.items()
            if k == "properties" and v != (row.properties or {})
            or k != "properties" and v != current[k]}


def delete(api, image_id):
    with api.db.transaction() as session:
        row = _find(api, session, image_id)
        api.authorize(policies.DELETE, _target(row))
        if row.protected:
            raise image_exc.ImageProtected(image_id=image_id)
        uploading = row.status == states.SAVING
        db_images.delete(session, image_id)
    # An upload in flight owns its partial file and removes it itself.
    _store(api).delete(image_id, partial=not uploading)
    return Reply(204)


# --- image data ---------------------------------------------------------------

@validation.request_schema(None, content_type=OCTET_STREAM)
def upload(api, image_id):
    """``PUT .../file``: the body is streamed to disk, never held in memory."""
    try:
        with api.db.reader() as session:
            row = _find(api, session, image_id)
        api.authorize(policies.UPLOAD, _target(row))
        if api.req.content_type != OCTET_STREAM:
            raise errors.UnsupportedMediaType(
                "Unsupported Content-Type %s: use %s" % (api.req.content_type or "(none)",
                                                         OCTET_STREAM))
        image_data.upload(api.db, _store(api), image_id, api.req.body_file,
                          api.conf, api.req.content_length)
    except Exception as exc:
        if getattr(exc, "code", None) != 413:  # cheroot closes after a 413
            _discard_unread_body(api.req)
        raise
    return Reply(204)


def _discard_unread_body(req):
    """Read what a refused upload left unread, in chunks, and drop it.

    To keep the connection alive cheroot reads any unread body (of known
    length) in one piece into memory before answering: for an image that
    could be many GiB.
    """
    if req.content_length is None:
        return
    stream = req.body_file
    try:
        while stream.read(image_store.CHUNK_SIZE * 16):
            pass
    except Exception:  # the client went away: nothing left to read
        return


def download(api, image_id):
    """``GET .../file``: 200 streamed after the data is verified; 204 when the
    image has no data yet; 409 when the stored data is corrupt."""
    with api.db.reader() as session:
        row = _find(api, session, image_id)
    api.authorize(policies.DOWNLOAD, _target(row))
    chunks = image_data.open_download(_store(api), row)
    if chunks is None:
        return Reply(204)
    headers = {"Content-Length": str(row.size), "Content-MD5": row.checksum,
               HASH_HEADER: "%s %s" % (row.os_hash_algo, row.os_hash_value)}
    return Reply(200, headers=headers, body_iter=chunks, content_type=OCTET_STREAM)
