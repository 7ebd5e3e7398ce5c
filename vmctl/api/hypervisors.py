"""/os-hypervisors: compute nodes as Nova shows them."""

import uuid

from vmctl import exception
from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api.schemas import parameter_types as types
from vmctl.api.views import servers as server_views
from vmctl.api.views import services as views
from vmctl.db import compute_nodes as db_compute_nodes
from vmctl.db import instances as db_instances
from vmctl.db import services as db_services
from vmctl.policies import hypervisors as policies


def index(api):
    api.authorize(policies.LIST)
    return _listing(api, views.hypervisor_summary)


def detail(api):
    api.authorize(policies.DETAIL)
    return _listing(api, views.hypervisor_detail)


def _listing(api, view):
    """2.53+: ``hypervisor_hostname_pattern`` (a substring; 404 when nothing
    matches, as Nova) and ``with_servers``."""
    nodes = _nodes(api)
    with_servers = False
    if api.version.matches(mv.UUID_IDS):
        pattern = api.param("hypervisor_hostname_pattern")
        if pattern is not None:
            nodes = [n for n in nodes if pattern in n[0].hypervisor_hostname]
            if not nodes:
                raise errors.NotFound("Hypervisor with pattern %s could not be found."
                                      % pattern)
        with_servers = types.to_bool(api.param("with_servers", "false"))
    bodies = [view(api, node, svc, up) for node, svc, up in nodes]
    if with_servers:
        _add_servers(api, [n for n, _s, _u in nodes], bodies)
    return {"hypervisors": bodies}


def show(api, hypervisor_id):
    api.authorize(policies.SHOW)
    _check_id(api, hypervisor_id)
    with api.db.reader() as session:
        node = db_compute_nodes.get(session, hypervisor_id)
        svc = db_services.compute_services_by_host(session).get(node.host)
    up = svc is not None and db_services.is_up(svc, api.conf.service_down_time)
    body = views.hypervisor_detail(api, node, svc, up, show=True)
    if (api.version.matches(mv.UUID_IDS)
            and types.to_bool(api.param("with_servers", "false"))):
        _add_servers(api, [node], [body])
    return {"hypervisor": body}


def _add_servers(api, nodes, bodies):
    """``servers`` [{name, uuid}] of each node that runs any (2.53)."""
    with api.db.reader() as session:
        for node, body in zip(nodes, bodies):
            rows = [r for r in db_instances.on_host(session, node.host)
                    if r.node == node.hypervisor_hostname]
            if rows:
                body["servers"] = [{"name": server_views.instance_name(r), "uuid": r.uuid}
                                   for r in rows]


def _check_id(api, hypervisor_id):
    """Integer ids before UUID_IDS, uuids from it (as Nova)."""
    not_found = exception.ComputeNodeNotFound(node=hypervisor_id)
    if api.version.matches(mv.UUID_IDS):
        if not _is_uuid(hypervisor_id):
            raise errors.BadRequest("Invalid uuid %s" % hypervisor_id)
    elif not hypervisor_id.isdigit():
        raise not_found


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _nodes(api):
    down_time = api.conf.service_down_time
    with api.db.reader() as session:
        nodes = db_compute_nodes.list_all(session)
        services = db_services.compute_services_by_host(session)
    result = []
    for node in nodes:
        svc = services.get(node.host)
        up = svc is not None and db_services.is_up(svc, down_time)
        result.append((node, svc, up))
    return result
