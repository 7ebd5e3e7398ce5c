"""Migration records: creation, compare-and-swap status moves, progress."""

import sqlalchemy as sa

from vmctl import exception
from vmctl import migration_states as ms
from vmctl.db import api as db_api
from vmctl.db import instances as db_instances
from vmctl.db import models

MIGRATION = models.Migration


class MigrationNotFound(exception.NotFound):
    msg_fmt = "Migration %(migration_id)s could not be found."


def create(session, values):
    row = MIGRATION(**values)
    session.add(row)
    session.flush()
    return row


def get(session, migration_id, instance_uuid=None):
    """By integer id or uuid (optionally of one instance)."""
    query = sa.select(MIGRATION)
    if db_api.int_id(migration_id) is not None:
        query = query.filter_by(id=db_api.int_id(migration_id))
    else:
        query = query.filter_by(uuid=str(migration_id))
    if instance_uuid is not None:
        query = query.filter_by(instance_uuid=instance_uuid)
    row = session.scalars(query).first()
    if row is None:
        raise MigrationNotFound(migration_id=migration_id)
    return row


def find(session, uuid):
    return session.scalars(sa.select(MIGRATION).filter_by(uuid=uuid)).first()


def move(session, migration, new_status, values=None, expected=None):
    """Compare-and-swap the status along the table; True if it moved.

    ``migration``: its uuid, or its row when the caller has read it already
    (one query less). ``expected``: the statuses allowed now (default: every
    status the table lets reach ``new_status``).
    """
    row = find(session, migration) if isinstance(migration, str) else migration
    if row is None:
        return False
    uuid = row.uuid
    allowed = expected if expected is not None else ms.sources_of(row.migration_type, new_status)
    allowed = [s for s in allowed if new_status in ms.TRANSITIONS[row.migration_type].get(s, ())]
    values = dict(values or {}, status=new_status, updated_at=models.utcnow())
    if new_status in ms.TERMINAL:
        values["completed_at"] = values["updated_at"]
    result = session.execute(sa.update(MIGRATION)
                             .where(MIGRATION.uuid == uuid, MIGRATION.status.in_(allowed))
                             .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def update_progress(session, uuid, values):
    """Progress figures of a running migration (never its status)."""
    session.execute(sa.update(MIGRATION)
                    .where(MIGRATION.uuid == uuid,
                           MIGRATION.status.in_(list(ms.IN_PROGRESS)))
                    .values(updated_at=models.utcnow(), **values)
                    .execution_options(synchronize_session=False))


def in_progress_for_instance(session, instance_uuid, migration_type=None):
    query = (sa.select(MIGRATION)
             .filter_by(instance_uuid=instance_uuid)
             .where(MIGRATION.status.in_(list(ms.IN_PROGRESS)))
             .order_by(MIGRATION.id))
    if migration_type:
        query = query.filter_by(migration_type=migration_type)
    return list(session.scalars(query))


def list_filtered(session, instance_uuid=None, status=None, migration_type=None,
                  host=None, source_compute=None, changes_since=None,
                  limit=None, marker=None, changes_before=None, user_id=None,
                  project_id=None):
    """Newest first; ``marker`` is a migration uuid."""
    query = sa.select(MIGRATION)
    for column, value in (("instance_uuid", instance_uuid), ("status", status),
                          ("migration_type", migration_type),
                          ("source_compute", source_compute), ("user_id", user_id),
                          ("project_id", project_id)):
        if value:
            query = query.where(getattr(MIGRATION, column) == value)
    if host:
        query = query.where(sa.or_(MIGRATION.source_compute == host,
                                   MIGRATION.dest_compute == host))
    if changes_since is not None:
        query = query.where(sa.func.coalesce(MIGRATION.updated_at,
                                             MIGRATION.created_at) >= changes_since)
    if changes_before is not None:
        query = query.where(sa.func.coalesce(MIGRATION.updated_at,
                                             MIGRATION.created_at) <= changes_before)
    if marker:
        mrow = find(session, marker)
        if mrow is None:
            raise exception.Invalid(reason="marker [%s] not found" % marker)
        query = query.where(MIGRATION.id < mrow.id)
    query = query.order_by(MIGRATION.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def unfinished_moves(session, instance_uuid=None, host=None):
    """Cold migrations, resizes and evacuations not yet at rest, oldest first
    (an evacuation ``done`` waits for its old host: it counts)."""
    kinds = {ms.COLD: ms.COLD_IN_PROGRESS, ms.RESIZE: ms.COLD_IN_PROGRESS,
             ms.EVACUATION: ms.EVACUATION_IN_PROGRESS | {ms.DONE}}
    query = sa.select(MIGRATION).where(sa.or_(*[
        sa.and_(MIGRATION.migration_type == kind, MIGRATION.status.in_(list(statuses)))
        for kind, statuses in kinds.items()])).order_by(MIGRATION.id)
    if instance_uuid is not None:
        query = query.filter_by(instance_uuid=instance_uuid)
    if host is not None:
        query = query.where(sa.or_(MIGRATION.source_compute == host,
                                   MIGRATION.dest_compute == host))
    return list(session.scalars(query))


def any_in_progress_on_host(session, host):
    """True when a migration of any kind still involves ``host``."""
    return session.scalars(
        sa.select(MIGRATION.id)
        .where(sa.or_(MIGRATION.source_compute == host, MIGRATION.dest_compute == host),
               MIGRATION.status.in_(list(ms.ANY_IN_PROGRESS)))
        .limit(1)).first() is not None


def finished_before(session, cutoff):
    """Resizes and cold migrations waiting in ``finished`` since before ``cutoff``."""
    return list(session.scalars(
        sa.select(MIGRATION)
        .where(MIGRATION.migration_type.in_([ms.COLD, ms.RESIZE]),
               MIGRATION.status == ms.FINISHED,
               sa.func.coalesce(MIGRATION.updated_at, MIGRATION.created_at) < cutoff)
        .order_by(MIGRATION.id)))


def begin_resize_end(session, instance_uuid, migration_uuid, start, status):
    """confirm/revert: the instance takes the ``start`` step (an
    ``instance_tasks`` row: resized at rest -> resize_confirming/_reverting)
    and its migration moves finished -> ``status``, both or neither (a
    savepoint). False when either had moved on."""
    savepoint = session.begin_nested()
    if (db_instances.compare_and_swap(session, instance_uuid, {"task_state": start.sets},
                                      expected_task_state=start.expects,
                                      expected_vm_states=start.from_vm_states)
            and move(session, migration_uuid, status, expected=[ms.FINISHED])):
        savepoint.commit()
        return True
    savepoint.rollback()
    return False


def incoming_instance_uuids(session, host):
    """Instances an unfinished migration (of any kind) is moving to ``host``."""
    return set(session.scalars(
        sa.select(MIGRATION.instance_uuid)
        .where(MIGRATION.dest_compute == host,
               MIGRATION.status.not_in(list(ms.TERMINAL)))))
