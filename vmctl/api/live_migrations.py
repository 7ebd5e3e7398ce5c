"""Live migration: os-migrateLive and /servers/{id}/migrations (the list of
every migration, /os-migrations, is api/migrations.py).

os-migrateLive moves the instance's task_state to migrating (compare-and-
swap from a resting ACTIVE/PAUSED), creates the migration record
(accepted) and the instance action in one transaction, then casts to the
conductor, which picks and checks a destination. The sub-resources show
progress, force the migration to complete, or abort it.
"""

from vmctl import instance_tasks
from vmctl import migration_states as ms
from vmctl.api import cold_moves
from vmctl.api import errors
from vmctl.api import microversion as mv
from vmctl.api import servers
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.api.schemas import cold_moves as move_schemas
from vmctl.api.schemas import live_migrations as schema
from vmctl.api.schemas import parameter_types as types
from vmctl.api.views import migrations as views
from vmctl.db import actions as db_actions
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.db import services as db_services
from vmctl.policies import live_migrations as policies


def _migrate_live_schema(version, conf):
    with_force = (version.matches(mv.LIVE_MIGRATE_FORCE)
                  and not version.matches(mv.EVACUATE_NO_FORCE))
    return move_schemas.action("os-migrateLive", schema.migrate_live(
        version.matches(mv.BLOCK_MIGRATION_AUTO), with_force))


@validation.request_schema(_migrate_live_schema)
def migrate_live(api, server_id, value):
    api.authorize(policies.MIGRATE_LIVE)
    validation.validate(_migrate_live_schema(api.version, api.conf), {"os-migrateLive": value})
    host = value.get("host")
    block = value["block_migration"]
    block = "auto" if block == "auto" else types.to_bool(block)
    with api.db.transaction() as session:
        if host and not db_services.compute_exists(session, host):
            raise errors.BadRequest("Compute host %s could not be found." % host)
        row = db_instances.get(session, server_id, project_id=api.project_scope())
        if host and host == row.host:
            raise errors.BadRequest("The destination host %s is the instance's own host." % host)
        start = instance_tasks.step("live_migration", "start")
        if not db_instances.compare_and_swap(
                session, row.uuid, {"task_state": start.sets},
                expected_task_state=start.expects, expected_vm_states=start.from_vm_states):
            session.refresh(row)
            raise errors.Conflict(servers.conflict_message("os-migrateLive", row))
        migration = cold_moves.create_migration(api, session, row, ms.LIVE, ms.ACCEPTED,
                                                  host, block_migration=block is True)
        db_actions.start(session, api.ctx, row.uuid, "live-migration")
    api.conductor.live_migrate_instance(api.ctx, row.uuid, migration.uuid, host, block)
    return Reply(202)


def index(api, server_id):
    api.authorize(policies.SERVER_MIGRATIONS_LIST)
    api.require_version(mv.SERVER_MIGRATIONS)
    with api.db.reader() as session:
        row = db_instances.get(session, server_id)
        rows = db_migrations.in_progress_for_instance(session, row.uuid, ms.LIVE)
    return {"migrations": [views.server_migration(api, m) for m in rows]}


def show(api, server_id, migration_id):
    api.authorize(policies.SERVER_MIGRATIONS_SHOW)
    api.require_version(mv.SERVER_MIGRATIONS)
    migration = _live_migration(api, server_id, migration_id)
    if migration.status not in ms.IN_PROGRESS:
        raise errors.NotFound("In-progress live migration %s is not found for server %s."
                              % (migration_id, server_id))
    return {"migration": views.server_migration(api, migration)}


@validation.request_schema(schema.force_complete)
def action(api, server_id, migration_id):
    api.authorize(policies.FORCE_COMPLETE)
    api.require_version(mv.MIGRATION_FORCE_COMPLETE)
    api.body(schema.force_complete)
    migration = _live_migration(api, server_id, migration_id)
    if migration.status not in (ms.RUNNING, ms.QUEUED, ms.PREPARING):
        raise errors.Conflict("Migration %s is in status %s: only a queued, preparing or "
                              "running live migration can be forced to complete."
                              % (migration_id, migration.status))
    api.conductor.live_migration_force_complete(api.ctx, migration.instance_uuid,
                                                migration.uuid)
    return Reply(202)


def delete(api, server_id, migration_id):
    api.authorize(policies.ABORT)
    api.require_version(mv.MIGRATION_ABORT)
    migration = _live_migration(api, server_id, migration_id)
    if migration.status == ms.POSTCOPY:
        raise errors.Conflict("Migration %s is in post-copy: the guest already runs on "
                              "the destination, so it cannot be aborted." % migration_id)
    if migration.status not in ms.ABORTABLE:
        raise errors.Conflict("Migration %s is in status %s and cannot be aborted."
                              % (migration_id, migration.status))
    api.conductor.live_migration_abort(api.ctx, migration.instance_uuid, migration.uuid)
    return Reply(202)


def _live_migration(api, server_id, migration_id):
    with api.db.reader() as session:
        row = db_instances.get(session, server_id)
        try:
            migration = db_migrations.get(session, migration_id, instance_uuid=row.uuid)
        except db_migrations.MigrationNotFound:
            raise errors.NotFound("Migration %s not found for server %s."
                                  % (migration_id, server_id)) from None
    if migration.migration_type != ms.LIVE:
        raise errors.BadRequest("Migration %s is not a live migration." % migration_id)
    return migration

