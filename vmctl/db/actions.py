"""Instance actions and their events: what happened to a server, step by step."""

import datetime

import sqlalchemy as sa

from vmctl import exception
from vmctl.db import models

ACTION = models.InstanceAction
EVENT = models.InstanceActionEvent


def start(session, ctx, instance_uuid, action):
    row = ACTION(action=action, instance_uuid=instance_uuid,
                 request_id=ctx.request_id, user_id=ctx.user_id,
                 project_id=ctx.project_id)
    session.add(row)
    session.flush()
    return row


def _find(session, instance_uuid, request_id):
    """The action of that request; else the instance's newest unfinished one.

    The fallback serves reports made under a service's own context (a
    compute finishing after a restart no longer knows the request id).
    """
    found = session.scalars(sa.select(ACTION)
                            .filter_by(instance_uuid=instance_uuid, request_id=request_id)
                            .order_by(ACTION.id.desc())).first()
    if found is None:
        found = session.scalars(sa.select(ACTION)
                                .filter_by(instance_uuid=instance_uuid, finish_time=None)
                                .order_by(ACTION.id.desc())).first()
    return found


def event_start(session, instance_uuid, request_id, event, host=None):
    action = _find(session, instance_uuid, request_id)
    if action is None:
        return None
    row = EVENT(action_id=action.id, event=event, host=host)
    session.add(row)
    session.flush()
    return row


def event_finish(session, instance_uuid, request_id, event, result, host=None,
                 details=None, start_time=None):
    """Finish the newest unfinished event of that name (create it if none).

    A failed event marks its action's message 'Error' as Nova does.
    ``start_time`` may be a datetime or the ISO string a compute reports.
    """
    if isinstance(start_time, str):
        start_time = datetime.datetime.fromisoformat(start_time)
    action = _find(session, instance_uuid, request_id)
    if action is None:
        return None
    row = session.scalars(sa.select(EVENT)
                          .filter_by(action_id=action.id, event=event, finish_time=None)
                          .order_by(EVENT.id.desc())).first()
    if row is None:
        row = EVENT(action_id=action.id, event=event, host=host,
                    start_time=start_time or models.utcnow())
        session.add(row)
    row.finish_time = models.utcnow()
    row.result = result
    row.details = details
    if host:
        row.host = host
    if result != "Success":
        action.message = "Error"
    action.updated_at = models.utcnow()
    session.flush()
    return row


def finish_action(session, instance_uuid, request_id):
    action = _find(session, instance_uuid, request_id)
    if action is not None and action.finish_time is None:
        action.finish_time = models.utcnow()


def finish_all_open(session, instance_uuid, why):
    """Close every unfinished action (and event) of an instance: it is gone.

    The steps that would have finished them (a build, a power action)
    lost their race against the delete; the user still sees how they ended.
    """
    now = models.utcnow()
    actions = session.scalars(sa.select(ACTION).filter_by(instance_uuid=instance_uuid,
                                                          finish_time=None))
    for action in actions:
        for event in events(session, action.id):
            if event.finish_time is None:
                event.finish_time, event.result, event.details = now, "Error", why
        action.finish_time = now
        action.message = action.message or why[:255]


def latest_request_id(session, instance_uuid):
    return session.scalars(sa.select(ACTION.request_id).filter_by(instance_uuid=instance_uuid)
                           .order_by(ACTION.id.desc())).first()


def list_for_instance(session, instance_uuid):
    return list(session.scalars(sa.select(ACTION).filter_by(instance_uuid=instance_uuid)
                                .order_by(ACTION.start_time.desc(), ACTION.id.desc())))


def get(session, instance_uuid, request_id):
    action = _find(session, instance_uuid, request_id)
    if action is None:
        raise exception.ActionNotFound(uuid=instance_uuid, request_id=request_id)
    return action


def events(session, action_id):
    return list(session.scalars(sa.select(EVENT).filter_by(action_id=action_id)
                                .order_by(EVENT.id)))
