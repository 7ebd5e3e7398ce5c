"""/servers: create, list, show, delete."""

import logging
import secrets
import string
import uuid

from vmctl import exception
from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl.api import availability_zones
from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api import references
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.api.schemas import parameter_types as types
from vmctl.api.schemas import servers as schema
from vmctl.api.views import servers as views
from vmctl.db import actions as db_actions
from vmctl.db import compute_nodes as db_nodes
from vmctl.db import flavors as db_flavors
from vmctl.db import images as db_images
from vmctl.db import instances as db_instances
from vmctl.db import server_groups as db_groups
from vmctl.db import services as db_services
from vmctl.policies import servers as policies

LOG = logging.getLogger(__name__)

_RESERVATION_CHARS = string.ascii_lowercase + string.digits
_PASSWORD_CHARS = string.ascii_letters + string.digits


# --- list / show ------------------------------------------------------------

def index(api):
    api.authorize(policies.INDEX)
    rows, _faults, _lookups = _list(api, with_faults=False)
    body = {"servers": [views.summary(api, r) for r in rows]}
    return _page(api, "servers", body, rows)


def detail(api):
    api.authorize(policies.DETAIL)
    rows, faults, lookups = _list(api, with_faults=True)
    view = _detail_view(api, lookups)
    body = {"servers": [view(r, faults.get(r.uuid)) for r in rows]}
    return _page(api, "servers/detail", body, rows)


def show(api, server_id):
    api.authorize(policies.SHOW)
    with api.db.reader() as session:
        row = db_instances.get(session, server_id, project_id=api.project_scope())
        fault = db_instances.latest_faults(session, [row.uuid]).get(row.uuid)
        lookups = _lookups(api, session, [row], single=True)
    return {"server": _detail_view(api, lookups)(row, fault)}


def _detail_view(api, lookups):
    return views.DetailView(api, show_extended=api.can(policies.EXTENDED_ATTRS),
                            show_fault_details=api.can(policies.FAULT_DETAILS),
                            lookups=lookups)


def _lookups(api, session, rows, single=False):
    """Zones, group memberships, image properties and host states the rows'
    views need (a query each whatever the number of rows, and only at the
    microversions that show them)."""
    version = api.version
    groups = (db_groups.groups_of(session, [r.uuid for r in rows])
              if version.matches(mv.SERVER_GROUPS_SHOWN) else {})
    # Only the images the caller may see: never another project's data.
    images = (db_images.properties_of(session, {r.image_ref for r in rows},
                                      project_id=api.project_scope())
              if version.matches(mv.IMAGE_PROPERTIES) else {})
    host_status = (_host_status(api, session)
                   if version.matches(mv.HOST_STATUS) else {})
    return views.Lookups(zones=availability_zones.compute_zones(session, api.conf),
                         groups=groups, images=images, host_status=host_status,
                         single=single)


def _host_status(api, session):
    down_time = api.conf.service_down_time
    status = {}
    for row in db_services.compute_services_by_host(session).values():
        up = db_services.is_up(row, down_time)
        status[row.host] = "MAINTENANCE" if row.disabled else ("UP" if up else "DOWN")
    return status


def _list(api, with_faults):
    filters = _filters(api)
    limit = api.limit()
    with api.db.reader() as session:
        try:
            rows = db_instances.list_filtered(session, limit=limit,
                                              marker=api.param("marker"), **filters)
        except exception.Invalid as exc:
            raise errors.BadRequest(exc.kwargs.get("reason", exc.message)) from None
        faults, lookups = {}, None
        if with_faults:
            failed = [r.uuid for r in rows if r.vm_state == states.ERROR]
            faults = db_instances.latest_faults(session, failed)
            lookups = _lookups(api, session, rows)
    return rows, faults, lookups


def _filters(api):
    """DB filters from the query string; admin-only ones are policy-checked."""
    filters = {"project_id": api.ctx.project_id}
    if _is_true(api.param("all_tenants")):
        api.authorize(policies.ALL_TENANTS)
        filters["project_id"] = api.param("project_id") or api.param("tenant_id")
    elif api.is_admin and (api.param("project_id") or api.param("tenant_id")):
        filters["project_id"] = api.param("project_id") or api.param("tenant_id")
    if api.param("name"):
        filters["name"] = api.param("name")
    if api.param("status"):
        vms, pairs = states.vm_states_for_status(api.param("status"))
        filters["vm_states"], filters["status_pairs"] = vms, pairs
    if api.param("host") and api.can(policies.ADMIN_FILTERS):
        filters["host"] = api.param("host")
    return filters


def _is_true(value):
    # Nova treats a bare ?all_tenants (empty value) as true.
    return value is not None and (value == "" or types.to_bool(value))


def _page(api, collection, body, rows):
    if rows and len(rows) == api.limit():
        body["servers_links"] = api.next_link(collection, rows[-1].uuid)
    return body


# --- create ----------------------------------------------------------------

def _create_schema(version, conf):
    return schema.create(conf.api.max_count,
                         with_hostname=version.matches(mv.SERVER_HOSTNAME),
                         with_destination=version.matches(mv.REQUESTED_DESTINATION))


@validation.request_schema(_create_schema)
def create(api):
    api.authorize(policies.CREATE)
    body = api.body(_create_schema(api.version, api.conf))
    server = body["server"]
    hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
    min_count, max_count = _counts(api, server)
    if server.get("hostname") is not None and max_count > 1:
        raise errors.BadRequest("Invalid input for field/attribute hostname: "
                                "it cannot be given when creating several servers.")
    reservation_id = "r-" + "".join(secrets.choice(_RESERVATION_CHARS) for _ in range(8))
    with api.db.transaction() as session:
        flavor = references.flavor(api, session, server["flavorRef"])
        references.image(api, session, server["imageRef"])
        _check_zone(api, session, server.get("availability_zone"))
        requested_host = _requested_host(api, session, server)
        _check_block_devices(server)
        group = _hinted_group(api, session, hints)
        uuids = [_create_one(api, session, server, flavor, reservation_id,
                             index, max_count, requested_host)
                 for index in range(max_count)]
        for instance_uuid in uuids if group is not None else ():
            db_groups.add_member(session, group, instance_uuid)
    _cast_build(api, uuids)
    if types.to_bool(server.get("return_reservation_id", False)):
        return Reply(202, {"reservation_id": reservation_id})
    links = api.links("servers", uuids[0])
    body = {"server": {
        "id": uuids[0],
        "links": links,
        "adminPass": "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(12)),
        "OS-DCF:diskConfig": server.get("OS-DCF:diskConfig", "MANUAL"),
        "security_groups": [{"name": "default"}],
    }}
    return Reply(202, body, {"Location": links[0]["href"]})


def _counts(api, server):
    min_count = types.to_int(server.get("min_count", 1))
    max_count = types.to_int(server.get("max_count", min_count))
    limit = api.conf.api.max_count
    for field, value in (("min_count", min_count), ("max_count", max_count)):
        if not 1 <= value <= limit:
            raise errors.BadRequest(
                "Invalid input for field/attribute %s. Value: %s. %s is not "
                "between 1 and %d" % (field, value, value, limit))
    if min_count > max_count:
        raise errors.BadRequest("min_count must be <= max_count")
    return min_count, max_count


def _check_zone(api, session, zone):
    """400 for a zone with no enabled compute host (as Nova)."""
    if zone and zone not in availability_zones.available_zones(session, api.conf):
        raise errors.BadRequest("The requested availability zone is not available")


def _requested_host(api, session, server):
    """The compute host a 2.74 create names (``host``, or the host of
    ``hypervisor_hostname``), else None; 403 unless the policy allows it,
    400 naming the field for one that does not exist (or do not match)."""
    host, node = server.get("host"), server.get("hypervisor_hostname")
    if host is None and node is None:
        return None
    api.authorize(policies.REQUESTED_DESTINATION)
    nodes = db_nodes.list_all(session)
    if host is not None and host not in {n.host for n in nodes}:
        raise errors.BadRequest("Invalid input for field/attribute host: "
                                "compute host %s could not be found." % host)
    if node is None:
        return host
    hosts = {n.host for n in nodes if n.hypervisor_hostname == node}
    if not hosts or (host is not None and host not in hosts):
        raise errors.BadRequest("Invalid input for field/attribute hypervisor_hostname: "
                                "compute node %s could not be found%s." % (
                                    node, " on host %s" % host if host else ""))
    return host or sorted(hosts)[0]


def _check_block_devices(server):
    """The one block device accepted is the image itself, on local disk."""
    for device in server.get("block_device_mapping_v2") or ():
        if device.get("uuid") not in (None, references.ref_id(server["imageRef"])):
            raise errors.BadRequest("Invalid input for field/attribute "
                                    "block_device_mapping_v2: only the image given "
                                    "as imageRef can be a boot device.")


def _hinted_group(api, session, hints):
    """The server group of the ``group`` hint (the caller's project's, or
    any for an admin); 400 if there is none such."""
    group_uuid = hints.get("group")
    if not group_uuid:
        return None
    try:
        return db_groups.get(session, group_uuid, project_id=api.project_scope())
    except db_groups.ServerGroupNotFound:
        raise errors.BadRequest("Invalid server group %s: it could not be found."
                                % group_uuid) from None


def _create_one(api, session, server, flavor, reservation_id, index, count,
                requested_host=None):
    name = server["name"]
    if count > 1:
        name = "%s-%d" % (name, index + 1)
    instance_uuid = str(uuid.uuid4())
    db_instances.create(session, {
        "uuid": instance_uuid,
        "display_name": name,
        "project_id": api.ctx.project_id,
        "user_id": api.ctx.user_id,
        "reservation_id": reservation_id,
        "launch_index": index,
        "vm_state": states.BUILDING,
        "task_state": instance_tasks.step("build", "create").sets,
        "power_state": states.NOSTATE,
        "availability_zone": server.get("availability_zone"),
        "flavor": db_flavors.snapshot(flavor),
        "image_ref": references.ref_id(server["imageRef"]),
        "metadata_": dict(server.get("metadata") or {}),
        "hostname": server.get("hostname"),
        "requested_host": requested_host,
    })
    db_actions.start(session, api.ctx, instance_uuid, "create")
    return instance_uuid


def _cast_build(api, uuids):
    """Ask the conductor to build; if the bus fails, end in a visible ERROR."""
    try:
        api.conductor.build_instances(api.ctx, uuids)
    except Exception:
        LOG.exception("Could not cast build_instances for %s", uuids)
        with api.db.transaction() as session:
            for instance_uuid in uuids:
                db_instances.compare_and_swap(
                    session, instance_uuid,
                    {"vm_state": states.ERROR, "task_state": None},
                    expected_task_state=instance_tasks.step("build", "cast_failed").expects)
                db_instances.add_fault(session, instance_uuid, 500,
                                       "Could not reach the conductor")
        raise errors.ApiError("Could not reach the conductor; the servers "
                              "were put in ERROR.") from None


# --- delete ----------------------------------------------------------------

def delete(api, server_id):
    api.authorize(policies.DELETE)
    with api.db.transaction() as session:
        row = db_instances.get(session, server_id, project_id=api.project_scope())
        start = instance_tasks.step("delete", "start")
        swapped = db_instances.compare_and_swap(
            session, row.uuid, {"task_state": start.sets}, expected_task_state=start.expects)
        if not swapped:
            session.refresh(row)
            raise errors.Conflict(conflict_message("delete", row))
        db_actions.start(session, api.ctx, row.uuid, "delete")
    api.conductor.delete_instance(api.ctx, row.uuid)
    return Reply(204)


def conflict_message(action, row):
    """Nova's wording for an action refused in the instance's current state."""
    if row.task_state is not None:
        where = "task_state %s" % row.task_state
    else:
        where = "vm_state %s" % row.vm_state
    return "Cannot '%s' instance %s while it is in %s" % (action, row.uuid, where)
