"""Availability zone views (Nova's ``availabilityZoneInfo`` shape)."""

from vmctl.api.views import iso_us
from vmctl.db import services as db_services


def zone(name, available, hosts):
    return {"zoneName": name, "zoneState": {"available": available}, "hosts": hosts}


def hosts(services, down_time):
    """{host: {binary: {"available", "active", "updated_at"}}}."""
    found = {}
    for row in services:
        found.setdefault(row.host, {})[row.binary] = {
            "available": db_services.is_up(row, down_time),
            "active": not row.disabled,
            "updated_at": iso_us(row.last_seen_at or row.updated_at),
        }
    return found
