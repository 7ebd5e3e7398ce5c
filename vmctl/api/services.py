"""/os-services (read-only for now)."""

from vmctl.api.views import services as views
from vmctl.db import compute_nodes as db_compute_nodes
from vmctl.db import services as db_services
from vmctl.policies import services as policies


def index(api):
    api.authorize(policies.LIST)
    down_time = api.conf.service_down_time
    with api.db.reader() as session:
        rows = db_services.list_all(session, binary=api.param("binary"),
                                    host=api.param("host"))
        zones = {n.host: n.availability_zone
                 for n in db_compute_nodes.list_all(session)}
    return {"services": [
        views.service(api, row, db_services.is_up(row, down_time), _zone(row, zones))
        for row in rows]}


def _zone(row, zones):
    if row.binary != views.COMPUTE_BINARY:
        return views.INTERNAL_ZONE
    return zones.get(row.host) or views.DEFAULT_ZONE
