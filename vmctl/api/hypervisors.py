"""/os-hypervisors: compute nodes as Nova shows them."""

import uuid

from vmctl import exception
from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api.views import services as views
from vmctl.db import compute_nodes as db_compute_nodes
from vmctl.db import services as db_services
from vmctl.policies import hypervisors as policies


def index(api):
    api.authorize(policies.LIST)
    return {"hypervisors": [views.hypervisor_summary(api, node, svc, up)
                            for node, svc, up in _nodes(api)]}


def detail(api):
    api.authorize(policies.DETAIL)
    return {"hypervisors": [views.hypervisor_detail(api, node, svc, up)
                            for node, svc, up in _nodes(api)]}


def show(api, hypervisor_id):
    api.authorize(policies.SHOW)
    _check_id(api, hypervisor_id)
    with api.db.reader() as session:
        node = db_compute_nodes.get(session, hypervisor_id)
        svc = db_services.compute_services_by_host(session).get(node.host)
    up = svc is not None and db_services.is_up(svc, api.conf.service_down_time)
    return {"hypervisor": views.hypervisor_detail(api, node, svc, up, show=True)}


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
