"""Cold moves, as server actions: migrate, resize, confirmResize,
revertResize and evacuate (POST /servers/{id}/action).

Each moves the instance's task_state with one compare-and-swap in the
transaction that writes the migration record and the instance action, then
casts to the conductor (conductor/tasks/resize.py, evacuate.py):

  migrate / resize   (active|stopped, None) -> resize_prep; migration
                     pre-migrating of type ``migration`` / ``resize``
  confirmResize      (resized, None) -> resize_confirming; finished -> confirming
  revertResize       (resized, None) -> resize_reverting; finished -> reverting
  evacuate           (active|stopped|error, None) -> rebuilding, only when the
                     instance's compute service is down or forced down;
                     migration ``evacuation`` accepted
"""

import secrets
import string

from vmctl import instance_states as states
from vmctl import instance_tasks
from vmctl import migration_states as ms
from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api import references
from vmctl.api import servers
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.api.schemas import cold_moves as schema
from vmctl.db import actions as db_actions
from vmctl.db import flavors as db_flavors
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.db import services as db_services
from vmctl.policies import cold_moves as policies

_PASSWORD_CHARS = string.ascii_letters + string.digits
# Disks a resize may grow but never shrink, besides the root disk: (what the
# message names, with the flavor field of the API; the snapshot key; unit).
_GROW_ONLY = (("ephemeral disk (OS-FLV-EXT-DATA:ephemeral)", "ephemeral_gb", "GB"),
              ("swap disk (swap)", "swap", "MB"))


def _migrate_schema(version, conf):
    return schema.action("migrate", schema.migrate(version.matches(mv.MIGRATE_HOST)))


@validation.request_schema(_migrate_schema)
def migrate(api, server_id, value):
    api.authorize(policies.MIGRATE)
    validation.validate(_migrate_schema(api.version, api.conf), {"migrate": value})
    host = (value or {}).get("host")
    _start_move(api, server_id, ms.COLD, "migrate", host=host)
    return Reply(202)


@validation.request_schema(schema.action("resize", schema.resize))
def resize(api, server_id, value):
    api.authorize(policies.RESIZE)
    validation.validate(resize.request_schema, {"resize": value})
    with api.db.reader() as session:
        flavor = db_flavors.snapshot(references.flavor(
            api, session, value["flavorRef"],
            "Invalid flavorRef: flavor %s could not be found."))
    _start_move(api, server_id, ms.RESIZE, "resize", new_flavor=flavor)
    return Reply(202)


def _check_new_flavor(row, flavor):
    old = row.flavor
    if flavor["flavorid"] == old["flavorid"]:
        raise errors.BadRequest("Invalid flavorRef: when resizing, instances must "
                                "change flavor (%s is the current one)." % flavor["flavorid"])
    if flavor["root_gb"] < old["root_gb"]:
        raise errors.BadRequest(
            "Invalid flavorRef: resizing to a smaller root disk is not allowed (flavor "
            "%s has %d GB, the server has %d GB)." % (flavor["flavorid"], flavor["root_gb"],
                                                      old["root_gb"]))
    for field, key, unit in _GROW_ONLY:
        new_size, old_size = flavor.get(key) or 0, old.get(key) or 0
        if new_size < old_size:
            raise errors.BadRequest(
                "Invalid flavorRef: resizing to a smaller %s is not allowed (flavor %s has "
                "%d %s, the server has %d %s)." % (field, flavor["flavorid"], new_size, unit,
                                                   old_size, unit))


def _start_move(api, server_id, kind, action, host=None, new_flavor=None):
    with api.db.transaction() as session:
        if host and not db_services.compute_exists(session, host):
            raise errors.BadRequest("Compute host %s could not be found." % host)
        row = db_instances.get(session, server_id, project_id=api.project_scope())
        if new_flavor is not None:
            _check_new_flavor(row, new_flavor)
        if host and host == row.host and not api.conf.allow_resize_to_same_host:
            raise errors.BadRequest("The target host can't be the same one.")
        start = instance_tasks.step("cold_migration", "start")
        if not db_instances.compare_and_swap(
                session, row.uuid, {"task_state": start.sets},
                expected_task_state=start.expects, expected_vm_states=start.from_vm_states):
            session.refresh(row)
            raise errors.Conflict(servers.conflict_message(action, row))
        migration = create_migration(api, session, row, kind, ms.PRE_MIGRATING, host,
                                     new_flavor=new_flavor or row.flavor)
        db_actions.start(session, api.ctx, row.uuid, action)
    api.conductor.migrate_server(api.ctx, row.uuid, migration.uuid, host)


def create_migration(api, session, row, kind, status, host, **values):
    """The migration record of a move of instance ``row`` to ``host`` (None:
    the scheduler picks), asked for by the caller; ``values`` add to or
    override the defaults (the flavor stays the same)."""
    return db_migrations.create(session, {
        "uuid": api.new_uuid(), "instance_uuid": row.uuid, "migration_type": kind,
        "status": status, "source_compute": row.host, "source_node": row.node,
        "dest_compute": host, "old_flavor": row.flavor, "new_flavor": row.flavor,
        "user_id": api.ctx.user_id, "project_id": api.ctx.project_id, **values})


@validation.request_schema(schema.action("confirmResize", schema.confirm_resize))
def confirm_resize(api, server_id, value):
    api.authorize(policies.CONFIRM_RESIZE)
    validation.validate(confirm_resize.request_schema, {"confirmResize": value})
    row, migration = _end_resize(api, server_id, "confirmResize",
                                 instance_tasks.step("confirm_resize", "start"), ms.CONFIRMING)
    api.conductor.confirm_resize(api.ctx, row.uuid, migration.uuid)
    return Reply(204)


@validation.request_schema(schema.action("revertResize", schema.revert_resize))
def revert_resize(api, server_id, value):
    api.authorize(policies.REVERT_RESIZE)
    validation.validate(revert_resize.request_schema, {"revertResize": value})
    row, migration = _end_resize(api, server_id, "revertResize",
                                 instance_tasks.step("revert_resize", "start"), ms.REVERTING)
    api.conductor.revert_resize(api.ctx, row.uuid, migration.uuid)
    return Reply(202)


def _end_resize(api, server_id, action, start, status):
    with api.db.transaction() as session:
        row = db_instances.get(session, server_id, project_id=api.project_scope())
        waiting = [m for m in db_migrations.unfinished_moves(session, row.uuid)
                   if m.status == ms.FINISHED]
        if row.vm_state not in start.from_vm_states or row.task_state not in start.expects:
            raise errors.Conflict(servers.conflict_message(action, row))
        if not waiting:
            raise errors.BadRequest("Instance has not been resized.")
        if not db_migrations.begin_resize_end(session, row.uuid, waiting[-1].uuid,
                                              start, status):
            session.refresh(row)
            raise errors.Conflict(servers.conflict_message(action, row))
        db_actions.start(session, api.ctx, row.uuid, action)
    return row, waiting[-1]


def _evacuate_schema(version, conf):
    with_force = (version.matches(mv.EVACUATE_FORCE)
                  and not version.matches(mv.EVACUATE_NO_FORCE))
    return schema.action("evacuate", schema.evacuate(
        version.matches(mv.EVACUATE_NO_SHARED_STORAGE), with_force))


@validation.request_schema(_evacuate_schema)
def evacuate(api, server_id, value):
    api.authorize(policies.EVACUATE)
    no_shared = api.version.matches(mv.EVACUATE_NO_SHARED_STORAGE)
    validation.validate(_evacuate_schema(api.version, api.conf), {"evacuate": value})
    host = value.get("host")
    with api.db.transaction() as session:
        if host and not db_services.compute_exists(session, host):
            raise errors.NotFound("Compute host %s not found." % host)
        row = db_instances.get(session, server_id, project_id=api.project_scope())
        _check_evacuable(api, session, row, host)
        start = instance_tasks.step("evacuate", "start")
        if not db_instances.compare_and_swap(
                session, row.uuid, {"task_state": start.sets},
                expected_task_state=start.expects, expected_vm_states=start.from_vm_states):
            session.refresh(row)
            raise errors.Conflict(servers.conflict_message("evacuate", row))
        migration = create_migration(
            api, session, row, ms.EVACUATION, ms.ACCEPTED, host,
            keep_stopped=(api.version.matches(mv.EVACUATE_KEEP_STOPPED)
                          and row.vm_state == states.STOPPED))
        db_actions.start(session, api.ctx, row.uuid, "evacuate")
    api.conductor.evacuate_instance(api.ctx, row.uuid, migration.uuid, host)
    if no_shared:
        return Reply(200)
    password = value.get("adminPass") or "".join(
        secrets.choice(_PASSWORD_CHARS) for _ in range(12))
    return {"adminPass": password}


def _check_evacuable(api, session, row, host):
    if not row.host:
        raise errors.Conflict(servers.conflict_message("evacuate", row))
    if host and host == row.host:
        raise errors.BadRequest("The target host can't be the same one.")
    if db_services.compute_is_up(session, row.host, api.conf.service_down_time):
        raise errors.BadRequest("Compute service of %s is still in use." % row.host)
