"""/os-availability-zone[/detail], and where the API learns zones.

A compute host's zone is that of its aggregate with ``availability_zone``
metadata, else the zone its compute reports ([compute] availability_zone,
else [DEFAULT] default_availability_zone). Control services are in the
``internal`` zone. A zone is available while one of its compute services
is enabled.
"""

from vmctl.api.views import availability_zones as views
from vmctl.api.views import services as service_views
from vmctl.db import aggregates as db_aggregates
from vmctl.db import compute_nodes as db_compute_nodes
from vmctl.db import services as db_services
from vmctl.policies import availability_zones as policies


def compute_zones(session, conf):
    """{compute host: zone} for every compute node."""
    aggregate_zones = db_aggregates.host_zones(session)
    return {n.host: aggregate_zones.get(n.host) or n.availability_zone
            or conf.default_availability_zone
            for n in db_compute_nodes.list_all(session)}


def zone_of_service(row, zones, conf):
    if row.binary != service_views.COMPUTE_BINARY:
        return service_views.INTERNAL_ZONE
    return zones.get(row.host) or conf.default_availability_zone


def available_zones(session, conf):
    """Zones with at least one enabled compute service."""
    zones = compute_zones(session, conf)
    return {zone_of_service(s, zones, conf)
            for s in db_services.list_all(session, binary=service_views.COMPUTE_BINARY)
            if not s.disabled}


def index(api):
    api.authorize(policies.LIST)
    with api.db.reader() as session:
        grouped = _services_by_zone(api, session)
    return {"availabilityZoneInfo": [
        views.zone(name, _available(services), None)
        for name, services in sorted(grouped.items())
        if name != service_views.INTERNAL_ZONE]}


def detail(api):
    api.authorize(policies.DETAIL)
    down_time = api.conf.service_down_time
    with api.db.reader() as session:
        grouped = _services_by_zone(api, session)
    return {"availabilityZoneInfo": [
        views.zone(name, _available(services), views.hosts(services, down_time))
        for name, services in sorted(grouped.items())]}


def _services_by_zone(api, session):
    zones = compute_zones(session, api.conf)
    grouped = {}
    for row in db_services.list_all(session):
        grouped.setdefault(zone_of_service(row, zones, api.conf), []).append(row)
    return grouped


def _available(services):
    return any(not s.disabled for s in services)
