"""/servers/{server_id}/os-instance-actions: what happened to a server."""

from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api.views import instance_actions as views
from vmctl.db import actions as db_actions
from vmctl.db import instances as db_instances
from vmctl.policies import instance_actions as policies


def index(api, server_id):
    api.authorize(policies.LIST)
    with api.db.reader() as session:
        row = db_instances.get(session, server_id, project_id=api.project_scope(),
                               read_deleted=True)
        actions = db_actions.list_for_instance(session, row.uuid)
    paging = api.version.matches(mv.ACTION_PAGING)
    if not paging:
        return {"instanceActions": [views.action(a) for a in actions]}
    page, limit = _page(api, actions)
    body = {"instanceActions": [views.action(a, with_updated=True) for a in page]}
    if page and len(page) == limit:
        body["links"] = api.next_link("servers/%s/os-instance-actions" % row.uuid,
                                      page[-1].request_id)
    return body


def _page(api, actions):
    """Newest first, filtered by changes-since (2.58) / changes-before
    (2.66) on the last update, after ``marker`` (a request id), ``limit``
    long. A server has few actions: they are paged in memory."""
    since, before = api.changes_window()
    marker = api.param("marker")
    if marker is not None:
        ids = [a.request_id for a in actions]
        if marker not in ids:
            raise errors.BadRequest("Marker %s could not be found." % marker)
        actions = actions[ids.index(marker) + 1:]
    kept = [a for a in actions if _within(a.updated_at or a.start_time, since, before)]
    limit = api.limit()
    return kept[:limit], limit


def _within(stamp, since, before):
    return (since is None or stamp >= since) and (before is None or stamp <= before)


def show(api, server_id, request_id):
    api.authorize(policies.SHOW)
    show_events = (api.version.matches(mv.ACTION_EVENTS_FOR_ALL)
                   or api.can(policies.EVENTS))
    show_details = api.can(policies.EVENTS_DETAILS)
    with api.db.reader() as session:
        row = db_instances.get(session, server_id, project_id=api.project_scope(),
                               read_deleted=True)
        action_row = db_actions.get(session, row.uuid, request_id)
        body = views.action(action_row, with_updated=api.version.matches(mv.ACTION_PAGING))
        if show_events:
            body["events"] = [
                views.event(api, e, row.project_id, show_details)
                for e in db_actions.events(session, action_row.id)]
    return {"instanceAction": body}
