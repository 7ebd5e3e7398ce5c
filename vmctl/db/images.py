"""Image records: visibility-scoped lookups, listing, and status swaps.

``project_id`` is the caller's project, or None for an administrator (who
sees every image). A project sees its own images plus public and community
ones; another project's private or shared image is "not found".
"""

import sqlalchemy as sa

from vmctl.db import models
from vmctl.images import exception
from vmctl.images import states
from vmctl.images.visibility import VISIBLE_TO_ALL

IMAGE = models.Image


def create(session, values):
    if session.get(IMAGE, values["id"]) is not None:
        raise exception.ImageExists(image_id=values["id"])
    row = IMAGE(**values)
    session.add(row)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        raise exception.ImageExists(image_id=values["id"]) from None
    return row


def _visible(project_id):
    """The SQL form of vmctl.images.visibility.visible (a test keeps them equal)."""
    return sa.or_(IMAGE.owner == project_id, IMAGE.visibility.in_(VISIBLE_TO_ALL))


def get(session, image_id, project_id=None):
    query = sa.select(IMAGE).where(IMAGE.id == image_id,
                                   IMAGE.status != states.DELETED)
    if project_id is not None:
        query = query.where(_visible(project_id))
    row = session.scalars(query).first()
    if row is None:
        raise exception.ImageNotFound(image_id=image_id)
    return row


def properties_of(session, image_ids, project_id=None):
    """{image id: properties} of those of ``image_ids`` the caller of
    ``project_id`` may see (None: an administrator, every one)."""
    query = sa.select(IMAGE.id, IMAGE.properties).where(IMAGE.id.in_(image_ids))
    if project_id is not None:
        query = query.where(_visible(project_id))
    return {image_id: props or {} for image_id, props in session.execute(query)}


def _visibility_clause(project_id, visibility):
    """Which images a listing shows, as Glance: by default a project's own
    and the public ones; community images only when asked for."""
    if visibility == "all":
        return None if project_id is None else _visible(project_id)
    if visibility is None:
        return None if project_id is None else sa.or_(
            IMAGE.owner == project_id, IMAGE.visibility == "public")
    clause = IMAGE.visibility == visibility
    if project_id is not None and visibility not in VISIBLE_TO_ALL:
        clause = sa.and_(clause, IMAGE.owner == project_id)
    return clause


def list_filtered(session, project_id=None, visibility=None, limit=None,
                  marker=None, **equal):
    """Images newest first (created_at, then id, descending).

    ``equal`` holds filters on columns (id, name, status, owner, ...): a
    value must match exactly, a list means any of its values.
    """
    query = (sa.select(IMAGE).where(IMAGE.status != states.DELETED)
             .order_by(IMAGE.created_at.desc(), IMAGE.id.desc()))
    clause = _visibility_clause(project_id, visibility)
    if clause is not None:
        query = query.where(clause)
    for column, value in equal.items():
        if isinstance(value, (list, tuple)):
            query = query.where(getattr(IMAGE, column).in_(value))
        elif value is not None:
            query = query.where(getattr(IMAGE, column) == value)
    if marker is not None:
        last = get(session, marker, project_id)
        query = query.where(sa.or_(
            IMAGE.created_at < last.created_at,
            sa.and_(IMAGE.created_at == last.created_at, IMAGE.id < last.id)))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def transition(session, image_id, event, values=None):
    """Move the image along ``event`` of states.TRANSITIONS, as a swap.

    Raises ImageInvalidState (409) when the image's status does not allow
    the event (someone else moved it first), ImageNotFound when it is gone.
    """
    edge = states.transition(event)
    values = dict(values or {}, status=edge.to_status, updated_at=models.utcnow())
    query = (sa.update(IMAGE)
             .where(IMAGE.id == image_id, IMAGE.status.in_(edge.from_statuses))
             .values(**values).execution_options(synchronize_session=False))
    if session.execute(query).rowcount == 1:
        return
    current = session.scalar(sa.select(IMAGE.status).where(IMAGE.id == image_id))
    if current is None or current == states.DELETED:
        raise exception.ImageNotFound(image_id=image_id)
    raise exception.ImageInvalidState(image_id=image_id, event=event, status=current)


def delete(session, image_id):
    transition(session, image_id, "delete", {"deleted_at": models.utcnow()})


def update(session, row, values):
    """Change metadata (not the status: that only moves by ``transition``)."""
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = models.utcnow()
    session.flush()
    return row


def project_usage(session, owner):
    """(images, bytes) a project holds: every image not deleted, and the sum
    of their recorded sizes (an upload in flight has none yet)."""
    query = (sa.select(sa.func.count(IMAGE.id), sa.func.coalesce(sa.func.sum(IMAGE.size), 0))
             .where(IMAGE.owner == owner, IMAGE.status != states.DELETED))
    count, stored = session.execute(query).one()
    return int(count), int(stored)
