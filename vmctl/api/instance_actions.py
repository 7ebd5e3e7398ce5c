"""/servers/{server_id}/os-instance-actions: what happened to a server."""

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
        return {"instanceActions": [views.action(a) for a in actions]}


def show(api, server_id, request_id):
    api.authorize(policies.SHOW)
    show_events = (api.version.matches(mv.ACTION_EVENTS_FOR_ALL)
                   or api.can(policies.EVENTS))
    show_details = api.can(policies.EVENTS_DETAILS)
    with api.db.reader() as session:
        row = db_instances.get(session, server_id, project_id=api.project_scope(),
                               read_deleted=True)
        action_row = db_actions.get(session, row.uuid, request_id)
        body = views.action(action_row)
        if show_events:
            body["events"] = [
                views.event(api, e, row.project_id, show_details)
                for e in db_actions.events(session, action_row.id)]
    return {"instanceAction": body}
