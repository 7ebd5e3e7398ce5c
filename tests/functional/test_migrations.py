"""Alembic revisions against real databases: every revision walks up and
down on SQLite, MariaDB and PostgreSQL, and the migrated schema matches the
models exactly.
"""

from alembic import autogenerate
from alembic.runtime import migration as alembic_migration
import pytest
import sqlalchemy

from vmctl.cmd import manage
from vmctl.db import migration
from vmctl.db import models

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


def _schema_diff(url, metadata=models.Base.metadata):
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            context = alembic_migration.MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True})
            return autogenerate.compare_metadata(context, metadata)
    finally:
        engine.dispose()


def _tables(url):
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        return set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_revisions_form_one_line():
    revisions = migration.revisions()
    assert revisions, "no alembic revisions found"
    assert revisions[-1] == migration.head()


@pytest.mark.parametrize("backend", BACKENDS)
def test_walk_every_revision_up_and_down(make_database, backend):
    url = make_database(backend)
    assert migration.current(url) is None
    revisions = migration.revisions()

    for revision in revisions:
        migration.upgrade(url, revision)
        assert migration.current(url) == revision
    for previous in reversed([None] + revisions[:-1]):
        migration.downgrade(url, previous or "base")
        assert migration.current(url) == previous
    assert _tables(url) <= {"alembic_version"}

    # Up again after a full downgrade: downgrades must leave nothing behind.
    migration.upgrade(url)
    assert migration.current(url) == migration.head()
    assert _schema_diff(url) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrated_schema_matches_models(make_database, backend):
    url = make_database(backend)
    migration.upgrade(url)
    assert _tables(url) == set(models.Base.metadata.tables) | {"alembic_version"}
    diff = _schema_diff(url)
    assert diff == [], "migrations and vmctl/db/models.py disagree:\n" + "\n".join(
        map(repr, diff))


def test_comparison_detects_drift(make_database):
    """The check above can fail: a model change with no revision is seen."""
    url = make_database("sqlite")
    migration.upgrade(url)
    drifted = sqlalchemy.MetaData()
    for table in models.Base.metadata.tables.values():
        table.to_metadata(drifted)
    sqlalchemy.Table("flavors", drifted, sqlalchemy.Column("extra", sqlalchemy.Integer),
                     extend_existing=True)
    diff = _schema_diff(url, drifted)
    assert [op[0] for op in diff] == ["add_column"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_manage_db_sync_and_flavor_create(make_database, backend, tmp_path, capsys):
    url = make_database(backend)
    config_file = tmp_path / "vmctl.conf"
    # oslo.config interpolates "$name": a literal "$" is written "$$".
    connection = url.render_as_string(hide_password=False).replace("$", "$$")
    config_file.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n"
                           f"[database]\nconnection = {connection}\n")
    base = ["--config-file", str(config_file)]

    assert manage.main(base + ["db", "version"]) == 0
    assert capsys.readouterr().out.strip() == "None"
    assert manage.main(base + ["db", "sync"]) == 0
    assert migration.current(url) == migration.head()
    assert manage.main(base + ["db", "sync"]) == 0  # idempotent
    assert manage.main(base + ["db", "version"]) == 0
    assert capsys.readouterr().out.strip().endswith(migration.head())

    create = base + ["flavor", "create", "m1.tiny", "--vcpus", "1", "--ram", "512",
                     "--disk", "1", "--id", "1"]
    assert manage.main(create) == 0
    assert manage.main(create) == 1
    assert manage.main(create + ["--if-missing"]) == 0
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text(
                "SELECT flavorid, name, vcpus, memory_mb, root_gb FROM flavors")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("1", "m1.tiny", 1, 512, 1)]
