"""Schema migrations: alembic driven from code.

There is no alembic.ini: the alembic Config is built here, pointing at the
scripts shipped inside the package (``vmctl/db/migrations``), so an
installed vmctl migrates its database without a source tree. Every function
takes a SQLAlchemy URL (string or ``URL``).
"""

import contextlib
import os

from alembic import command
from alembic import config as alembic_config
from alembic import script as alembic_script
from alembic.runtime import migration as alembic_migration
import sqlalchemy
from sqlalchemy import pool

SCRIPT_LOCATION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
SERVER_BACKENDS = ("mysql", "postgresql")


def make_config(url=None):
    """The alembic Config for vmctl's migrations (``url`` is optional)."""
    config = alembic_config.Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        # ConfigParser interpolation: a literal "%" in a password must be doubled.
        rendered = _url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(url, revision="head"):
    """Migrate the database at ``url`` up to ``revision``."""
    with _connected_config(url) as config:
        command.upgrade(config, revision)


def downgrade(url, revision):
    """Migrate the database at ``url`` down to ``revision`` ("base" = empty)."""
    with _connected_config(url) as config:
        command.downgrade(config, revision)


def current(url):
    """The revision the database at ``url`` is at, or None if unversioned."""
    with _engine(url) as engine, engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        return context.get_current_revision()


def head():
    """The newest revision shipped with this vmctl."""
    return _scripts().get_current_head()


def revisions():
    """Every revision id, oldest first."""
    return [rev.revision for rev in reversed(list(_scripts().walk_revisions()))]


def create_database(url):
    """Create the (empty) database named in ``url``.

    MariaDB/MySQL and PostgreSQL: CREATE DATABASE through the server's
    maintenance connection (fails if it exists). SQLite: create the parent
    directory; the file appears on first connect.
    """
    url = _url(url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        _ensure_sqlite_dir(url)
        return
    _check_server_backend(backend)
    name = url.database
    with _server_connection(url) as (connection, quote):
        if backend == "mysql":
            connection.exec_driver_sql(
                f"CREATE DATABASE {quote(name)} CHARACTER SET utf8mb4 "
                "COLLATE utf8mb4_unicode_ci")
        else:
            connection.exec_driver_sql(f"CREATE DATABASE {quote(name)} ENCODING 'UTF8'")


def drop_database(url):
    """Drop the database named in ``url`` if it exists (SQLite: delete the file)."""
    url = _url(url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(url.database + suffix)
        return
    _check_server_backend(backend)
    with _server_connection(url) as (connection, quote):
        name = quote(url.database)
        if backend == "mysql":
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        else:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def create_fresh(url):
    """Create the database named in ``url`` and migrate it to head."""
    create_database(url)
    upgrade(url)
    return _url(url)


@contextlib.contextmanager
def _connected_config(url):
    """An alembic Config carrying an open connection (see migrations/env.py)."""
    with _engine(url) as engine, engine.connect() as connection:
        config = make_config(url)
        config.attributes["connection"] = connection
        yield config
        if connection.in_transaction():
            connection.commit()


@contextlib.contextmanager
def _engine(url):
    url = _url(url)
    if url.get_backend_name() == "sqlite":
        _ensure_sqlite_dir(url)
    engine = sqlalchemy.create_engine(url, poolclass=pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def _server_connection(url):
    """An autocommit connection to the server's maintenance database."""
    maintenance_db = "postgres" if url.get_backend_name() == "postgresql" else None
    # URL.set() ignores None, so _replace (NamedTuple API) clears the name.
    engine = sqlalchemy.create_engine(url._replace(database=maintenance_db),
                                      poolclass=pool.NullPool,
                                      isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection, engine.dialect.identifier_preparer.quote_identifier
    finally:
        engine.dispose()


def _scripts():
    return alembic_script.ScriptDirectory.from_config(make_config())


def _url(url):
    return sqlalchemy.engine.make_url(url)


def _check_server_backend(backend):
    if backend not in SERVER_BACKENDS:
        raise ValueError(f"unsupported database backend: {backend}")


def _ensure_sqlite_dir(url):
    if url.database and url.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
