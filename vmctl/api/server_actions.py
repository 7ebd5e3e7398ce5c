"""POST /servers/{server_id}/action: start, stop, reboot, pause, unpause,
suspend, resume; and os-getConsoleOutput, which reads without moving state.

Each body key names a row of ``states.ACTIONS``; the request moves the
instance with one compare-and-swap (task_state None -> the action's task,
vm_state in its from-states) in the same transaction that records the
instance action, then casts to the conductor.
"""

import logging

from vmctl import exception
from vmctl import instance_states as states
from vmctl.api import cold_moves
from vmctl.api import errors
from vmctl.api import jsonbody
from vmctl.api import live_migrations
from vmctl.api import servers
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.api.schemas import server_actions as schema
from vmctl.db import actions as db_actions
from vmctl.db import instances as db_instances
from vmctl.policies import server_actions as policies

LOG = logging.getLogger(__name__)

# body key -> states.ACTIONS name (reboot depends on its type, see _action_name)
_ACTION_FOR_KEY = {
    "os-start": "start",
    "os-stop": "stop",
    "pause": "pause",
    "unpause": "unpause",
    "suspend": "suspend",
    "resume": "resume",
}


def _action_schema(version, conf):
    """One of the bodies of every action key, at ``version``."""
    return {"oneOf": [validation.declared_schema(_OWN_HANDLERS[key], version, conf)
                      if key in _OWN_HANDLERS else schema.body(key) for key in schema.ACTIONS]}


@validation.request_schema(_action_schema)
def action(api, server_id):
    key, value = _parse(api)
    if key in _OWN_HANDLERS:
        return _OWN_HANDLERS[key](api, server_id, value)
    api.authorize(policies.RULE_FOR_KEY[key])
    validation.validate(schema.body(key), {key: value})
    name = _action_name(key, value)
    row_action = states.ACTIONS[name]
    with api.db.transaction() as session:
        row = db_instances.get(session, server_id, project_id=api.project_scope())
        swapped = db_instances.compare_and_swap(
            session, row.uuid, {"task_state": row_action.task_state},
            expected_task_state=None, expected_vm_states=row_action.from_vm_states)
        if not swapped:
            session.refresh(row)
            raise errors.Conflict(servers.conflict_message(_nova_name(key), row))
        db_actions.start(session, api.ctx, row.uuid, name)
    api.conductor.instance_action(api.ctx, row.uuid, name)
    return Reply(202)


@validation.request_schema(schema.body("os-getConsoleOutput"))
def console_output(api, server_id, value):
    """The tail of the guest's serial console (``length`` lines, -1 = all)."""
    api.authorize(policies.RULE_FOR_KEY["os-getConsoleOutput"])
    validation.validate(console_output.request_schema, {"os-getConsoleOutput": value})
    length = (value or {}).get("length")
    length = None if length is None or int(length) < 0 else int(length)
    with api.db.reader() as session:
        row = db_instances.get(session, server_id, project_id=api.project_scope())
    if not row.host or row.task_state in (states.SCHEDULING, states.SPAWNING):
        raise errors.Conflict("Instance %s has no console yet: it is still being built."
                              % row.uuid)
    try:
        output = api.conductor.get_console_output(api.ctx, row.uuid, length)
    except exception.ConsoleOutputUnavailable as exc:
        raise errors.NotFound("Console output of instance %s is not available: %s"
                              % (row.uuid, exc.message)) from None
    return {"output": output}


# body key -> handler of actions that are not a row of states.ACTIONS
_OWN_HANDLERS = {"os-getConsoleOutput": console_output,
            "os-migrateLive": live_migrations.migrate_live,
            "migrate": cold_moves.migrate,
            "resize": cold_moves.resize,
            "confirmResize": cold_moves.confirm_resize,
            "revertResize": cold_moves.revert_resize,
            "evacuate": cold_moves.evacuate}


def _parse(api):
    """The single action key of the body and its value; 400 otherwise."""
    raw = api.req.body
    body = jsonbody.parse_json(raw) if raw else None
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("The request body must hold exactly one action.")
    key, value = next(iter(body.items()))
    if key not in schema.ACTIONS:
        raise errors.BadRequest("There is no such action: %s" % key)
    return key, value


def _action_name(key, value):
    if key == "reboot":
        return "reboot_hard" if value["type"].upper() == "HARD" else "reboot"
    return _ACTION_FOR_KEY[key]


def _nova_name(key):
    """The name Nova's conflict messages use ('start', 'reboot', 'pause')."""
    return key[3:] if key.startswith("os-") else key
