"""Host aggregates, and the availability zones their metadata makes."""

import sqlalchemy as sa

from vmctl import exception
from vmctl.db import api as db_api
from vmctl.db import group_models

AGGREGATE = group_models.Aggregate
HOST = group_models.AggregateHost
AZ_KEY = "availability_zone"


class AggregateNotFound(exception.NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s could not be found."


class AggregateNameExists(exception.Conflict):
    msg_fmt = "Aggregate %(name)s already exists."


class AggregateHostExists(exception.Conflict):
    msg_fmt = "Aggregate %(aggregate_id)s already has host %(host)s."


class AggregateHostNotFound(exception.NotFound):
    msg_fmt = "Cannot remove host %(host)s in aggregate %(aggregate_id)s"


class ZoneConflict(exception.Conflict):
    msg_fmt = ("Cannot add host %(host)s to aggregate %(aggregate_id)s: host "
               "%(host)s is already in availability zone %(zone)s.")


def create(session, values):
    if session.scalars(sa.select(AGGREGATE).filter_by(name=values["name"])).first():
        raise AggregateNameExists(name=values["name"])
    row = AGGREGATE(**values)
    session.add(row)
    _flush_unique_name(session, values["name"])
    return row


def _flush_unique_name(session, name):
    """Flush; a name taken meanwhile by a concurrent request is a 409 too."""
    try:
        session.flush()
    except sa.exc.IntegrityError:
        raise AggregateNameExists(name=name) from None


def get(session, aggregate_id):
    """By integer id or uuid (as Nova accepts both)."""
    row_id = db_api.int_id(aggregate_id)
    if row_id is not None:
        row = session.get(AGGREGATE, row_id)
    else:  # a uuid (digits past the largest id match none)
        row = session.scalars(sa.select(AGGREGATE).filter_by(uuid=str(aggregate_id))).first()
    if row is None:
        raise AggregateNotFound(aggregate_id=aggregate_id)
    return row


def list_all(session):
    return list(session.scalars(sa.select(AGGREGATE).order_by(AGGREGATE.id)))


def rename(session, row, name):
    if session.scalars(sa.select(AGGREGATE).filter_by(name=name)).first():
        raise AggregateNameExists(name=name)
    row.name = name
    _flush_unique_name(session, name)


def delete(session, aggregate_id):
    row = get(session, aggregate_id)
    if row.hosts:
        raise exception.Conflict(reason="Aggregate %s still has hosts." % row.id)
    session.delete(row)


def hosts_of(row):
    return [h.host for h in row.hosts]


def zone_of(row):
    return (row.metadata_ or {}).get(AZ_KEY)


def add_host(session, row, host):
    if host in hosts_of(row):
        raise AggregateHostExists(aggregate_id=row.id, host=host)
    zone = zone_of(row)
    current = host_zones(session).get(host)
    if zone and current and current != zone:
        raise ZoneConflict(host=host, aggregate_id=row.id, zone=current)
    row.hosts.append(HOST(host=host))
    session.flush()


def remove_host(session, row, host):
    for entry in row.hosts:
        if entry.host == host:
            row.hosts.remove(entry)
            session.flush()
            return
    raise AggregateHostNotFound(aggregate_id=row.id, host=host)


def set_metadata(session, row, changes):
    """Apply ``changes`` (a None value removes the key); 409 if the new
    zone would put one of the aggregate's hosts in two zones."""
    metadata = dict(row.metadata_ or {})
    for key, value in changes.items():
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    zone = metadata.get(AZ_KEY)
    if zone:
        others = host_zones(session, skip_aggregate=row.id)
        for host in hosts_of(row):
            if others.get(host) not in (None, zone):
                raise ZoneConflict(host=host, aggregate_id=row.id, zone=others[host])
    row.metadata_ = metadata
    session.flush()


def host_zones(session, skip_aggregate=None):
    """{host: zone} for hosts in an aggregate with a zone."""
    zones = {}
    for row in list_all(session):
        zone = zone_of(row)
        if zone and row.id != skip_aggregate:
            for host in hosts_of(row):
                zones.setdefault(host, zone)
    return zones
