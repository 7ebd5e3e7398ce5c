"""Service records: registration, heartbeats, up/down."""

import datetime
import uuid as uuidlib

import sqlalchemy as sa

from vmctl import exception
from vmctl.db import api as db_api
from vmctl.db import models


def register(session, host, binary, topic, version=""):
    """Create the service row if missing; return it."""
    row = session.scalars(sa.select(models.Service).filter_by(host=host, binary=binary)).first()
    if row is None:
        row = models.Service(uuid=str(uuidlib.uuid4()), host=host, binary=binary,
                             topic=topic, version=version, report_count=0,
                             disabled=False, forced_down=False)
        try:
            with session.begin_nested():
                session.add(row)
        except sa.exc.IntegrityError:
            # Registered concurrently (a compute's first heartbeat and first
            # inventory report are handled by two conductor threads).
            row = session.scalars(sa.select(models.Service)
                                  .filter_by(host=host, binary=binary)).one()
    row.version = version
    row.last_seen_at = models.utcnow()
    session.flush()
    return row


def heartbeat(session, host, binary):
    result = session.execute(
        sa.update(models.Service)
        .where(models.Service.host == host, models.Service.binary == binary)
        .values(last_seen_at=models.utcnow(),
                report_count=models.Service.report_count + 1))
    return result.rowcount == 1


def heartbeat_or_register(db, host, binary, topic, version=""):
    """Heartbeat, registering the service first if it is new.

    Safe when two reports of one new service race (a compute's heartbeat
    and its first inventory report): the loser of the insert heartbeats.
    """
    with db.transaction() as session:
        if heartbeat(session, host, binary):
            return
    try:
        with db.transaction() as session:
            register(session, host, binary, topic, version)
    except sa.exc.IntegrityError:
        with db.transaction() as session:
            heartbeat(session, host, binary)


def compute_exists(session, host):
    """Whether a compute service of ``host`` is registered."""
    return bool(list_all(session, binary="vmctl-compute", host=host))


def compute_is_up(session, host, down_time):
    """Whether ``host``'s compute service is registered and up."""
    found = list_all(session, binary="vmctl-compute", host=host)
    return bool(found) and is_up(found[0], down_time)


def is_up(service, down_time, now=None):
    if service.forced_down or service.last_seen_at is None:
        return False
    now = now or models.utcnow()
    return now - service.last_seen_at <= datetime.timedelta(seconds=down_time)


def list_all(session, binary=None, host=None):
    query = sa.select(models.Service).order_by(models.Service.id)
    if binary:
        query = query.filter_by(binary=binary)
    if host:
        query = query.filter_by(host=host)
    return list(session.scalars(query))


def get(session, service_id):
    row_id = db_api.int_id(service_id)
    row = session.get(models.Service, row_id) if row_id is not None else \
        session.scalars(sa.select(models.Service).filter_by(uuid=str(service_id))).first()
    if row is None:
        raise exception.ServiceNotFound(service_id=service_id)
    return row


def compute_services_by_host(session):
    return {s.host: s for s in list_all(session, binary="vmctl-compute")}
