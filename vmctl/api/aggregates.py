"""/os-aggregates (admin): host aggregates, which make availability zones.

``availability_zone`` (in the body or as metadata) puts the aggregate's
hosts in that zone; a host is in one zone at most (409 otherwise), and a
host running servers created in its zone cannot leave that zone (409).
"""


from vmctl.api import availability_zones
from vmctl.api import errors
from vmctl.api import jsonbody
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.api.schemas import aggregates as schema
from vmctl.api.views import aggregates as views
from vmctl.api.views import services as service_views
from vmctl.db import aggregates as db_aggregates
from vmctl.db import instances as db_instances
from vmctl.db import services as db_services
from vmctl.policies import aggregates as policies


def index(api):
    api.authorize(policies.INDEX)
    with api.db.reader() as session:
        return {"aggregates": [views.aggregate(api, r) for r in db_aggregates.list_all(session)]}


@validation.request_schema(schema.create)
def create(api):
    api.authorize(policies.CREATE)
    body = api.body(schema.create)["aggregate"]
    _check_zone_name(body.get("availability_zone"))
    metadata = {}
    if body.get("availability_zone"):
        metadata[db_aggregates.AZ_KEY] = body["availability_zone"]
    with api.db.transaction() as session:
        row = db_aggregates.create(session, {"uuid": api.new_uuid(), "name": body["name"],
                                             "metadata_": metadata})
        return {"aggregate": views.aggregate(api, row)}


def show(api, aggregate_id):
    api.authorize(policies.SHOW)
    with api.db.reader() as session:
        return {"aggregate": views.aggregate(api, db_aggregates.get(session, aggregate_id))}


@validation.request_schema(schema.update)
def update(api, aggregate_id):
    api.authorize(policies.UPDATE)
    body = api.body(schema.update)["aggregate"]
    with api.db.transaction() as session:
        row = db_aggregates.get(session, aggregate_id)
        if "name" in body and body["name"] != row.name:
            db_aggregates.rename(session, row, body["name"])
        if "availability_zone" in body:
            _check_zone_name(body["availability_zone"])
            db_aggregates.set_metadata(session, row, {
                db_aggregates.AZ_KEY: body["availability_zone"]})
            _check_pinned(api, session, db_aggregates.hosts_of(row))
        return {"aggregate": views.aggregate(api, row)}


def delete(api, aggregate_id):
    api.authorize(policies.DELETE)
    with api.db.transaction() as session:
        db_aggregates.delete(session, aggregate_id)
    return Reply(200)


@validation.request_schema(schema.action)
def action(api, aggregate_id):
    body = _action_body(api)
    name, value = next(iter(body.items()))
    api.authorize({"add_host": policies.ADD_HOST, "remove_host": policies.REMOVE_HOST,
                   "set_metadata": policies.SET_METADATA}[name])
    validation.validate(schema.ACTIONS[name], body)
    with api.db.transaction() as session:
        row = db_aggregates.get(session, aggregate_id)
        if name == "add_host":
            _check_host(session, value["host"])
            db_aggregates.add_host(session, row, value["host"])
            _check_pinned(api, session, [value["host"]])
        elif name == "remove_host":
            db_aggregates.remove_host(session, row, value["host"])
            _check_pinned(api, session, [value["host"]])
        else:
            _check_zone_name(value["metadata"].get(db_aggregates.AZ_KEY))
            db_aggregates.set_metadata(session, row, value["metadata"])
            _check_pinned(api, session, db_aggregates.hosts_of(row))
        return {"aggregate": views.aggregate(api, row)}


def _check_pinned(api, session, hosts):
    """409 (and the change is rolled back) if a server created in a zone
    runs on one of ``hosts`` and the change moved that host out of it."""
    zones = availability_zones.compute_zones(session, api.conf)
    for host in hosts:
        for inst in db_instances.on_host(session, host):
            if inst.availability_zone and inst.availability_zone != zones.get(host):
                raise errors.Conflict(
                    "Host %s runs server %s, created in availability zone %s: the host "
                    "cannot leave that zone." % (host, inst.uuid, inst.availability_zone))


def _action_body(api):
    raw = api.req.body
    body = jsonbody.parse_json(raw) if raw else None
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in schema.ACTIONS:
        raise errors.BadRequest("The action must be one of: %s." % ", ".join(schema.ACTIONS))
    return body


def _check_host(session, host):
    if not db_services.compute_exists(session, host):
        raise errors.NotFound("Compute host %s could not be found." % host)


def _check_zone_name(zone):
    if zone == service_views.INTERNAL_ZONE:
        raise errors.BadRequest("Availability zone %s is reserved for control services."
                                % zone)
