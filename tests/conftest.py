"""Shared fixtures: uniquely-named throw-away databases on every backend.

Server URLs can be overridden with VMCTL_TEST_MYSQL_URL /
VMCTL_TEST_POSTGRESQL_URL (``{db}`` is replaced by the database name). An
unreachable server fails the test, unless VMCTL_TEST_ALLOW_SKIP=1 turns that
into a skip: CI must not pass a check that could not run.
"""

import os
import secrets

import pytest
import sqlalchemy

import vmctl.cmd  # noqa: F401  (native threads: eventlet stays unimported)

DEFAULT_URLS = {
    "mysql": "mysql+pymysql://root@localhost/{db}?unix_socket=/run/mysqld/mysqld.sock",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
}
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


def unique_name(prefix="vmctl_test"):
    """A database (or other resource) name no other test run will use."""
    return f"{prefix}_{secrets.token_hex(6)}"


def _server_url(backend, name):
    template = os.environ.get(f"VMCTL_TEST_{backend.upper()}_URL", DEFAULT_URLS[backend])
    return sqlalchemy.engine.make_url(template.format(db=name))


def _unreachable(backend, url, exc):
    reason = (f"{backend} server not reachable at "
              f"{url.render_as_string(hide_password=True)}: {exc}")
    if os.environ.get("VMCTL_TEST_ALLOW_SKIP") == "1":
        pytest.skip(reason)
    pytest.fail(reason + " (set VMCTL_TEST_ALLOW_SKIP=1 to skip instead)", pytrace=False)


@pytest.fixture
def make_database(tmp_path):
    """Factory: ``make_database(backend)`` -> URL of a new, empty database.

    Every database made is dropped when the test ends.
    """
    from vmctl.db import migration

    made = []

    def make(backend):
        name = unique_name()
        if backend == "sqlite":
            url = sqlalchemy.engine.make_url(f"sqlite:///{tmp_path / name}.sqlite")
        else:
            url = _server_url(backend, name)
            try:
                migration.create_database(url)
            except sqlalchemy.exc.OperationalError as exc:
                _unreachable(backend, url, exc.orig)
        made.append(url)
        return url

    yield make
    for url in made:
        migration.drop_database(url)


@pytest.fixture(params=BACKENDS)
def migrated_database(request, make_database):
    """URL of a new database at the newest schema, once per backend."""
    from vmctl.db import migration

    url = make_database(request.param)
    migration.upgrade(url)
    return url
