"""Live migration endpoints, in-process (SQLite, recording conductor)."""

import pytest

from tests.unit.api.test_app import _create
from tests.unit.api.test_app import env  # noqa: F401  (fixture)
from vmctl import migration_states as ms
from vmctl.db import instances as db_instances
from vmctl.db import migration_records as db_migrations
from vmctl.db import services as db_services

ADMIN = "admin:admin"


class LiveConductor:
    """Records the live-migration casts on top of the app test's conductor."""

    @staticmethod
    def install(conductor):
        def record(name):
            return lambda ctx, *args: conductor.calls.append((name, *args))
        for name in ("live_migrate_instance", "live_migration_abort",
                     "live_migration_force_complete"):
            setattr(conductor, name, record(name))


@pytest.fixture
def active(env):  # noqa: F811
    call, conductor, db = env
    LiveConductor.install(conductor)
    server_id = _create(call)[1]["server"]["id"]
    with db.transaction() as session:
        db_instances.compare_and_swap(session, server_id, {
            "vm_state": "active", "task_state": None, "host": "cn1", "node": "cn1"})
        for host in ("cn1", "cn2"):
            db_services.register(session, host, "vmctl-compute", "vmctl-compute")
    return call, conductor, db, server_id


def _live(call, server_id, body=None, token=ADMIN, version="2.30"):
    body = body if body is not None else {"host": None, "block_migration": "auto"}
    return call("POST", "/v2.1/servers/%s/action" % server_id, {"os-migrateLive": body},
                token=token, version=version)


def test_migrate_live_accepts_and_records(active):
    call, conductor, db, server_id = active
    resp, _ = _live(call, server_id, {"host": "cn2", "block_migration": "auto"})
    assert resp.status_int == 202
    name, instance_uuid, migration_uuid, host, block = conductor.calls[-1]
    assert (name, instance_uuid, host, block) == ("live_migrate_instance", server_id, "cn2", "auto")
    _, server = call("GET", "/v2.1/servers/" + server_id, token=ADMIN)
    assert server["server"]["status"] == "MIGRATING"
    with db.reader() as session:
        migration = db_migrations.find(session, migration_uuid)
        assert (migration.status, migration.source_compute, migration.migration_type) == (
            ms.ACCEPTED, "cn1", ms.LIVE)
    _, actions = call("GET", "/v2.1/servers/%s/os-instance-actions" % server_id, token=ADMIN)
    assert actions["instanceActions"][0]["action"] == "live-migration"
    # A second request while it migrates is a conflict.
    assert _live(call, server_id)[0].status_int == 409


def test_migrate_live_force_only_from_2_30_to_2_67(active):
    call, conductor, _, server_id = active
    body = {"host": None, "block_migration": "auto", "force": True}
    for version in ("2.29", "2.68"):
        resp, out = _live(call, server_id, body, version=version)
        assert resp.status_int == 400 and "force" in out["badRequest"]["message"]
    assert conductor.calls == [] or conductor.calls[-1][0] != "live_migrate_instance"
    assert _live(call, server_id, body, version="2.67")[0].status_int == 202


@pytest.mark.parametrize("body, field", [
    ({"host": None}, "block_migration"),
    ({"host": None, "block_migration": "sometimes"}, "block_migration"),
    ({"host": 7, "block_migration": True}, "host"),
])
def test_migrate_live_validation_names_the_field(active, body, field):
    call, conductor, _, server_id = active
    resp, out = _live(call, server_id, body)
    assert resp.status_int == 400 and field in out["badRequest"]["message"]
    assert conductor.calls[-1][0] != "live_migrate_instance"


def test_migrate_live_before_2_25_needs_disk_over_commit(active):
    call, _, _, server_id = active
    resp, out = _live(call, server_id, {"host": None, "block_migration": False}, version="2.24")
    assert resp.status_int == 400 and "disk_over_commit" in out["badRequest"]["message"]
    assert _live(call, server_id, {"host": None, "block_migration": False,
                                   "disk_over_commit": False}, version="2.24")[0].status_int == 202


def test_migrate_live_unknown_or_same_host_is_400(active):
    call, _, _, server_id = active
    assert _live(call, server_id, {"host": "nowhere", "block_migration": True})[0].status_int == 400
    assert _live(call, server_id, {"host": "cn1", "block_migration": True})[0].status_int == 400


def test_migrate_live_is_admin_only(active):
    call, _, _, server_id = active
    assert _live(call, server_id, token="bob:p1")[0].status_int == 403


def _migration(active):
    call, conductor, db, server_id = active
    _live(call, server_id)
    return conductor.calls[-1][2]


def test_server_migrations_show_progress_and_abort(active):
    call, conductor, db, server_id = active
    migration_uuid = _migration(active)
    with db.transaction() as session:
        for status in (ms.QUEUED, ms.PREPARING, ms.RUNNING):
            assert db_migrations.move(session, migration_uuid, status)
        db_migrations.update_progress(session, migration_uuid, {
            "memory_total": 100, "memory_processed": 40, "memory_remaining": 60})
    resp, body = call("GET", "/v2.1/servers/%s/migrations" % server_id, token=ADMIN,
                      version="2.80")
    [entry] = body["migrations"]
    assert (entry["status"], entry["memory_remaining_bytes"], entry["uuid"]) == (
        ms.RUNNING, 60, migration_uuid)
    path = "/v2.1/servers/%s/migrations/%s" % (server_id, entry["id"])
    assert call("GET", path, token=ADMIN, version="2.80")[0].status_int == 200
    assert call("POST", path + "/action", {"force_complete": None}, token=ADMIN,
                version="2.80")[0].status_int == 202
    assert conductor.calls[-1][0] == "live_migration_force_complete"
    assert call("DELETE", path, token=ADMIN, version="2.80")[0].status_int == 202
    assert conductor.calls[-1][0] == "live_migration_abort"
    # Once in post-copy the guest runs on the destination: no abort.
    with db.transaction() as session:
        assert db_migrations.move(session, migration_uuid, ms.POSTCOPY)
    resp, body = call("DELETE", path, token=ADMIN, version="2.80")
    assert resp.status_int == 409 and "post-copy" in body["conflictingRequest"]["message"]


def test_server_migrations_need_their_microversion(active):
    call, _, _, server_id = active
    assert call("GET", "/v2.1/servers/%s/migrations" % server_id, token=ADMIN,
                version="2.22")[0].status_int == 404


def test_status_moves_follow_the_table(active):
    _, _, db, _ = active
    migration_uuid = _migration(active)
    with db.transaction() as session:
        assert not db_migrations.move(session, migration_uuid, ms.RUNNING)  # skips queued
        assert db_migrations.move(session, migration_uuid, ms.QUEUED)
        assert not db_migrations.move(session, migration_uuid, ms.QUEUED)  # lost race
        assert db_migrations.move(session, migration_uuid, ms.CANCELLED)
        assert not db_migrations.move(session, migration_uuid, ms.COMPLETED)  # terminal


def test_os_migrations_filters_and_paging(active):
    call, _, db, server_id = active
    migration_uuid = _migration(active)
    resp, body = call("GET", "/v2.1/os-migrations?migration_type=live-migration",
                      token=ADMIN, version="2.80")
    [entry] = body["migrations"]
    assert (entry["uuid"], entry["instance_uuid"], entry["migration_type"]) == (
        migration_uuid, server_id, "live-migration")
    assert "links" in entry
    _, body = call("GET", "/v2.1/os-migrations?status=completed", token=ADMIN, version="2.80")
    assert body["migrations"] == []
    _, body = call("GET", "/v2.1/os-migrations?changes-since=2000-01-01T00:00:00Z&limit=1",
                   token=ADMIN, version="2.80")
    assert len(body["migrations"]) == 1 and "migrations_links" in body
    assert call("GET", "/v2.1/os-migrations?changes-since=yesterday", token=ADMIN,
                version="2.80")[0].status_int == 400
    assert call("GET", "/v2.1/os-migrations", token="bob:p1")[0].status_int == 403
