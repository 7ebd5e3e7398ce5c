"""/os-server-groups: list, create, show, delete.

Members join at boot (``os:scheduler_hints: {"group": id}``, see
servers.py) and leave when they are deleted; the scheduler and the
compute's late check enforce the policy (vmctl/scheduler,
conductor/tasks/build.py).
"""

from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.api.schemas import parameter_types as types
from vmctl.api.schemas import server_groups as schema
from vmctl.api.views import server_groups as views
from vmctl.db import server_groups as db_groups
from vmctl.policies import server_groups as policies


def index(api):
    api.authorize(policies.INDEX)
    project_id = api.ctx.project_id
    if _is_true(api.param("all_projects")):
        api.authorize(policies.INDEX_ALL_PROJECTS)
        project_id = None
    limit, offset = _paging(api)
    with api.db.reader() as session:
        rows = db_groups.list_all(session, project_id=project_id, limit=limit, offset=offset)
        members = db_groups.live_members(session, rows)
        return {"server_groups": [views.group(api, r, members.get(r.id, ())) for r in rows]}


def _is_true(value):
    return value is not None and (value == "" or types.to_bool(value))


def _paging(api):
    limit = api.limit()
    offset = api.param("offset")
    if offset is None:
        return limit, None
    if not (offset.isascii() and offset.isdigit()) or int(offset) > types.MAX_INT:
        raise errors.BadRequest("offset param must be an integer between 0 and %d"
                                % types.MAX_INT)
    return limit, int(offset)


def _create_schema(version, conf):
    return schema.create(version.matches(mv.SOFT_AFFINITY),
                         version.matches(mv.GROUP_POLICY_RULES))


@validation.request_schema(_create_schema)
def create(api):
    api.authorize(policies.CREATE)
    body = api.body(_create_schema(api.version, api.conf))["server_group"]
    if "policies" in body:
        policy, rules = body["policies"][0], {}
    else:
        policy, rules = body["policy"], dict(body.get("rules") or {})
    if rules and policy != "anti-affinity":
        raise errors.BadRequest("Only anti-affinity policy supports rules.")
    if "max_server_per_host" in rules:
        rules["max_server_per_host"] = types.to_int(rules["max_server_per_host"])
    with api.db.transaction() as session:
        row = db_groups.create(session, {
            "uuid": api.new_uuid(), "name": body["name"], "policy": policy,
            "rules": rules, "project_id": api.ctx.project_id,
            "user_id": api.ctx.user_id})
        return {"server_group": views.group(api, row, [])}


def show(api, server_group_id):
    api.authorize(policies.SHOW)
    with api.db.reader() as session:
        row = db_groups.get(session, server_group_id, project_id=api.project_scope())
        members = db_groups.live_members(session, [row]).get(row.id, ())
        return {"server_group": views.group(api, row, members)}


def delete(api, server_group_id):
    api.authorize(policies.DELETE)
    with api.db.transaction() as session:
        db_groups.delete(session, server_group_id, project_id=api.project_scope())
    return Reply(204)
