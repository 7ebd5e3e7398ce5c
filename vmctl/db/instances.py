"""Instance records, faults and compare-and-swap state updates."""

import sqlalchemy as sa

from vmctl import exception
from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl.db import models

INSTANCE = models.Instance
_UNSET = object()


def create(session, values):
    row = INSTANCE(**values)
    session.add(row)
    session.flush()
    return row


def get(session, uuid, project_id=None, read_deleted=False):
    query = sa.select(INSTANCE).filter_by(uuid=uuid)
    if not read_deleted:
        query = query.filter_by(deleted=0)
    if project_id is not None:
        query = query.filter_by(project_id=project_id)
    row = session.scalars(query).first()
    if row is None:
        raise exception.InstanceNotFound(uuid=uuid)
    return row


def find(session, uuid):
    """The live instance, or None if it does not exist (any more)."""
    return session.scalars(sa.select(INSTANCE).filter_by(uuid=uuid, deleted=0)).first()


def compare_and_swap(session, uuid, values, expected_task_state=_UNSET,
                     expected_vm_states=None, expected_host=_UNSET,
                     expected_updated_at=_UNSET):
    """Apply ``values`` only if the instance is still in the expected state.

    Returns True when the row changed; False means another actor moved the
    instance first (the caller answers 409 or gives up, never overwrites).
    """
    query = sa.update(INSTANCE).where(INSTANCE.uuid == uuid, INSTANCE.deleted == 0)
    if expected_task_state is not _UNSET:
        query = query.where(_task_state_is(expected_task_state))
    if expected_vm_states is not None:
        query = query.where(INSTANCE.vm_state.in_(expected_vm_states))
    if expected_host is not _UNSET:
        query = query.where(INSTANCE.host == expected_host if expected_host
                            else INSTANCE.host.is_(None))
    if expected_updated_at is not _UNSET:
        query = query.where(INSTANCE.updated_at == expected_updated_at if expected_updated_at
                            else INSTANCE.updated_at.is_(None))
    values = dict(values, updated_at=models.utcnow())
    result = session.execute(query.values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _task_state_is(expected):
    if isinstance(expected, (tuple, list, set, frozenset)) and len(expected) == 1:
        expected = next(iter(expected))
    if isinstance(expected, (tuple, list, set, frozenset)):
        expected = list(expected)
        clause = INSTANCE.task_state.in_([t for t in expected if t is not None])
        if None in expected:
            clause = sa.or_(clause, INSTANCE.task_state.is_(None))
        return clause
    if expected is None:
        return INSTANCE.task_state.is_(None)
    return INSTANCE.task_state == expected


def soft_delete(session, uuid, only_if_deleting_on=_UNSET):
    """Mark the instance deleted. Returns False if it was not (or not any more).

    With ``only_if_deleting_on=host`` it happens only while the instance is
    being deleted and lives on that host (or none): a compute's report about
    some other guest of the same uuid cannot delete the record.
    """
    row = session.scalars(sa.select(INSTANCE).filter_by(uuid=uuid, deleted=0)).first()
    if row is None:
        return False
    if only_if_deleting_on is not _UNSET and (
            row.task_state not in instance_tasks.step("delete", "deleted").expects
            or row.host not in (None, only_if_deleting_on)):
        return False
    now = models.utcnow()
    row.vm_state = states.DELETED
    row.task_state = None
    row.power_state = states.NOSTATE
    row.deleted = row.id
    row.deleted_at = now
    row.terminated_at = now
    session.flush()
    return True


def list_filtered(session, project_id=None, name=None, vm_states=None,
                  status_pairs=None, host=None, limit=None, marker=None,
                  deleted=False):
    """Newest first (created_at, id) with a marker uuid for paging."""
    query = sa.select(INSTANCE)
    query = query.filter(INSTANCE.deleted != 0) if deleted else query.filter_by(deleted=0)
    if project_id is not None:
        query = query.filter_by(project_id=project_id)
    if name:
        query = query.filter(INSTANCE.display_name.contains(name, autoescape=True))
    if host:
        query = query.filter_by(host=host)
    if vm_states is not None or status_pairs:
        clauses = [INSTANCE.vm_state.in_(vm_states or [])]
        clauses += [sa.and_(INSTANCE.vm_state == vm, INSTANCE.task_state == task)
                    for vm, task in (status_pairs or [])]
        query = query.filter(sa.or_(*clauses))
    if marker:
        mrow = session.scalars(sa.select(INSTANCE).filter_by(uuid=marker)).first()
        if mrow is None:
            raise exception.Invalid(reason="marker [%s] not found" % marker)
        query = query.filter(sa.or_(
            INSTANCE.created_at < mrow.created_at,
            sa.and_(INSTANCE.created_at == mrow.created_at, INSTANCE.id < mrow.id)))
    query = query.order_by(INSTANCE.created_at.desc(), INSTANCE.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def stalled(session, task_states, cutoff):
    """Instances in one of ``task_states`` not updated since ``cutoff``."""
    last = sa.func.coalesce(INSTANCE.updated_at, INSTANCE.created_at)
    return list(session.scalars(sa.select(INSTANCE).filter_by(deleted=0)
                                .where(INSTANCE.task_state.in_(task_states), last < cutoff)))


def on_host(session, host):
    return list(session.scalars(sa.select(INSTANCE).filter_by(host=host, deleted=0)))


def add_fault(session, uuid, code, message, details=None, host=None):
    session.add(models.InstanceFault(instance_uuid=uuid, code=code,
                                     message=message[:255], details=details,
                                     host=host))


def latest_faults(session, uuids):
    """{uuid: newest fault} for the given instances, in one query."""
    if not uuids:
        return {}
    rows = session.scalars(sa.select(models.InstanceFault)
                           .where(models.InstanceFault.instance_uuid.in_(list(uuids)))
                           .order_by(models.InstanceFault.id))
    return {row.instance_uuid: row for row in rows}
