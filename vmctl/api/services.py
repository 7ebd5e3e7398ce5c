"""/os-services: list; enable/disable/force down (2.53+); delete."""

from vmctl.api import availability_zones
from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.api.schemas import services as schema
from vmctl.api.views import services as views
from vmctl.db import compute_nodes as db_compute_nodes
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.db import services as db_services
from vmctl.policies import services as policies


def index(api):
    api.authorize(policies.LIST)
    down_time = api.conf.service_down_time
    with api.db.reader() as session:
        rows = db_services.list_all(session, binary=api.param("binary"),
                                    host=api.param("host"))
        zones = availability_zones.compute_zones(session, api.conf)
    return {"services": [
        views.service(api, row, db_services.is_up(row, down_time),
                      availability_zones.zone_of_service(row, zones, api.conf))
        for row in rows]}


@validation.request_schema(schema.update)
def update(api, service_id):
    """PUT /os-services/{uuid} (2.53+): status, disabled_reason, forced_down."""
    api.require_version(mv.UUID_IDS)
    api.authorize(policies.UPDATE)
    body = api.body(schema.update)
    if "disabled_reason" in body and body.get("status") != "disabled":
        raise errors.BadRequest("Specifying 'disabled_reason' with status '%s' is invalid."
                                % body.get("status", "(none)"))
    if "status" not in body and "forced_down" not in body:
        raise errors.BadRequest("At least one of 'status' or 'forced_down' must be "
                                "specified.")
    with api.db.transaction() as session:
        row = db_services.get(session, service_id)
        if row.binary != views.COMPUTE_BINARY:
            raise errors.BadRequest("Updating a %s service is not supported. Only %s "
                                    "services can be updated." % (row.binary,
                                                                  views.COMPUTE_BINARY))
        if "status" in body:
            row.disabled = body["status"] == "disabled"
            row.disabled_reason = body.get("disabled_reason") if row.disabled else None
        if "forced_down" in body:
            row.forced_down = body["forced_down"]
        session.flush()
        up = db_services.is_up(row, api.conf.service_down_time)
        zone = availability_zones.zone_of_service(
            row, availability_zones.compute_zones(session, api.conf), api.conf)
        return {"service": views.service(api, row, up, zone)}


def delete(api, service_id):
    """DELETE /os-services/{id}: refused while the host has instances or
    migrations in progress (409)."""
    api.authorize(policies.DELETE)
    with api.db.transaction() as session:
        row = db_services.get(session, service_id)
        if row.binary == views.COMPUTE_BINARY:
            _check_deletable(session, row.host)
            for node in db_compute_nodes.list_all(session):
                if node.host == row.host:
                    session.delete(node)
        session.delete(row)
    return Reply(204)


def _check_deletable(session, host):
    if db_migrations.any_in_progress_on_host(session, host):
        raise errors.Conflict("Unable to delete compute service that has in-progress "
                              "migrations. Complete the migrations or delete the "
                              "instances first.")
    if db_instances.on_host(session, host):
        raise errors.Conflict("Unable to delete compute service that is hosting "
                              "instances. Migrate or delete the instances first.")
