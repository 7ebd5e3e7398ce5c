"""/flavors: list, show, create, delete."""

import uuid

from vmctl import exception
from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.api.schemas import flavors as schema
from vmctl.api.schemas import parameter_types as types
from vmctl.api.views import flavors as views
from vmctl.db import flavors as db_flavors
from vmctl.policies import flavors as policies


def index(api):
    rows = _list(api)
    return _page(api, "flavors", {"flavors": [views.summary(api, r) for r in rows]}, rows)


def detail(api):
    rows = _list(api)
    show_specs = api.can(policies.SPECS_INDEX)
    body = {"flavors": [views.detail(api, r, show_specs) for r in rows]}
    return _page(api, "flavors/detail", body, rows)


def sees_private(api):
    """Whether the caller may see and use private (is_public=false)
    flavors. There are no flavor access lists yet: administrators only."""
    return api.can(policies.LIST_ALL)


def visible(api, session, flavor_id):
    """The flavor row, or FlavorNotFound when it does not exist or is a
    private flavor the caller may not see (the same answer for both)."""
    row = db_flavors.get(session, flavor_id)
    if not row.is_public and not sees_private(api):
        raise exception.FlavorNotFound(flavor_id=flavor_id)
    return row


def _list(api):
    api.authorize(policies.LIST)
    is_public = True
    if sees_private(api):
        is_public = _is_public_filter(api.param("is_public"))
    limit = api.limit()
    kwargs = {"min_ram": _min_filter(api, "minRam"),
              "min_disk": _min_filter(api, "minDisk")}
    marker = api.param("marker")
    with api.db.reader() as session:
        try:
            if marker:  # a private marker is no oracle: as a missing one
                visible(api, session, marker)
            return db_flavors.list_all(session, is_public=is_public, limit=limit,
                                       marker=marker, **kwargs)
        except exception.FlavorNotFound:  # as the other lists: a bad request
            raise errors.BadRequest("marker [%s] not found" % marker) from None


def _page(api, collection, body, rows):
    if rows and len(rows) == api.limit():
        body["flavors_links"] = api.next_link(collection, rows[-1].flavorid)
    return body


def _is_public_filter(value):
    """Admins: is_public=true (default) | false | none (both)."""
    if value is None:
        return True
    if value.lower() == "none":
        return None
    if value.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise errors.BadRequest("Invalid is_public filter [%s]" % value)
    return types.to_bool(value)


def _min_filter(api, name):
    value = api.param(name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > types.MAX_INT:
        raise errors.BadRequest("Invalid %s filter [%s]" % (name, value))
    return int(value)


def show(api, flavor_id):
    api.authorize(policies.SHOW)
    with api.db.reader() as session:
        row = visible(api, session, flavor_id)
        return {"flavor": views.detail(api, row, api.can(policies.SPECS_INDEX))}


def _create_schema(version, conf):
    return schema.create_v255 if version.matches(mv.FLAVOR_DESCRIPTION) else schema.create


@validation.request_schema(_create_schema)
def create(api):
    api.authorize(policies.CREATE)
    body = api.body(_create_schema(api.version, api.conf))
    values = _values(body["flavor"])
    with api.db.transaction() as session:
        row = db_flavors.create(session, values)
        return {"flavor": views.detail(api, row, api.can(policies.SPECS_INDEX))}


def _values(flavor):
    return {
        "flavorid": str(flavor.get("id") or uuid.uuid4()),
        "name": flavor["name"].strip(),
        "memory_mb": _int(flavor, "ram"),
        "vcpus": _int(flavor, "vcpus"),
        "root_gb": _int(flavor, "disk"),
        "ephemeral_gb": _int(flavor, "OS-FLV-EXT-DATA:ephemeral"),
        "swap": _int(flavor, "swap"),
        "rxtx_factor": float(flavor.get("rxtx_factor", 1.0)),
        "is_public": types.to_bool(flavor.get("os-flavor-access:is_public", True)),
        "description": flavor.get("description"),
    }


def _int(flavor, field):
    """An integer field, bounded as its schema says also when it came as a
    string of digits (jsonschema bounds only numbers)."""
    value = types.to_int(flavor.get(field, 0))
    bounds = schema.create["properties"]["flavor"]["properties"][field]
    if not bounds["minimum"] <= value <= bounds["maximum"]:
        raise errors.BadRequest(
            "Invalid input for field/attribute %s. Value: %s. %s is not between %d and %d"
            % (field, value, value, bounds["minimum"], bounds["maximum"]))
    return value


def delete(api, flavor_id):
    api.authorize(policies.DELETE)
    with api.db.transaction() as session:
        db_flavors.delete(session, flavor_id)
    return Reply(202)
