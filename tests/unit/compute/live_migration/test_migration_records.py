"""A compute's record of the live migrations it takes part in (records.py)."""

from vmctl.compute.live_migration import records as records_mod
from vmctl.objects import migration as migration_obj

INSTANCE = "6f1c7c52-7f8e-4f0e-9d7c-2d3a4b5c6d7e"
MIGRATIONS = ("0a5c9a9e-1d8e-4a55-9a43-3f9b3a1f0c01", "0a5c9a9e-1d8e-4a55-9a43-3f9b3a1f0c02")


def _migration(uuid):
    return migration_obj.Migration(
        uuid=uuid, instance_uuid=INSTANCE, migration_type="live-migration", status="queued",
        source_compute="compute1", source_node="compute1", dest_compute="compute2",
        dest_node="compute2", block_migration=True)


def test_records_survive_the_agent_and_are_taken_once(tmp_path):
    records = records_mod.MigrationRecords(str(tmp_path), "compute1", "out")
    for uuid in MIGRATIONS:
        records.add(_migration(uuid))
    records.remove(MIGRATIONS[0])
    again = records_mod.MigrationRecords(str(tmp_path), "compute1", "out")  # a restarted agent
    [found] = again.take_all()[INSTANCE]
    assert (found.uuid, found.dest_compute, found.block_migration) == (
        MIGRATIONS[1], "compute2", True)
    assert again.take_all() == {}


def test_an_unreadable_record_file_is_ignored(tmp_path):
    records = records_mod.MigrationRecords(str(tmp_path), "compute1", "out")
    with open(records.path, "w") as f:
        f.write("{not json")
    assert records.take_all() == {}
    records.add(_migration(MIGRATIONS[0]))
    assert list(records.take_all()) == [INSTANCE]


def test_an_unwritable_state_path_is_not_fatal(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    records = records_mod.MigrationRecords(str(blocker / "state"), "compute1", "out")
    records.add(_migration(MIGRATIONS[0]))     # logged, not raised
    records.remove(MIGRATIONS[0])
    assert records.take_all() == {}
