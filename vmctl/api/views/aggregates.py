"""Aggregate views, per microversion."""

from vmctl.api import microversion as mv
from vmctl.api.views import iso_us
from vmctl.db import aggregates as db_aggregates


def aggregate(api, row):
    body = {
        "id": row.id,
        "name": row.name,
        "availability_zone": db_aggregates.zone_of(row),
        "hosts": db_aggregates.hosts_of(row),
        "metadata": dict(row.metadata_ or {}),
        "created_at": iso_us(row.created_at),
        "updated_at": iso_us(row.updated_at),
        "deleted_at": None,
        "deleted": False,
    }
    if api.version.matches(mv.AGGREGATE_UUID):
        body["uuid"] = row.uuid
    return body
