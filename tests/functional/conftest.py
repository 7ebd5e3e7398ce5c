"""Functional fixtures: real vmctl clouds (every daemon a process, RabbitMQ,
a real database, fake hypervisors), shared per test module.

After every test that used a cloud, the cloud is waited on until no
instance has a task under way, and the invariants of DESIGN.md are checked
(``LocalCloud.check_invariants``): they must hold at the end of every
scenario, not only in the tests that look at them.
"""

import pytest

from tests.conftest import _server_url
from tests.conftest import _unreachable
from tests.conftest import unique_name
from tests.fixtures.cloud import LocalCloud

# Clouds alive in the current module, checked after each of its tests.
_ACTIVE = []
# id(cloud) -> violations already reported for it.
_REPORTED = {}


def _start(tmp_path_factory, label, **kw):
    cloud = LocalCloud(tmp_path_factory.mktemp(label), **kw)
    cloud.start()
    _ACTIVE.append(cloud)
    return cloud


def _stop(cloud):
    if cloud in _ACTIVE:
        _ACTIVE.remove(cloud)
    cloud.stop()


@pytest.fixture(scope="module")
def cloud_factory(tmp_path_factory):
    """Factory: ``cloud_factory(label, **LocalCloud kwargs)`` -> a started
    cloud, stopped at the end of the module."""
    made = []

    def make(label="cloud", **kw):
        cloud = _start(tmp_path_factory, label, **kw)
        made.append(cloud)
        return cloud

    yield make
    for cloud in made:
        _stop(cloud)


@pytest.fixture(scope="module")
def cloud(cloud_factory):
    """Three fake computes on SQLite, shared by the tests of one module."""
    return cloud_factory("cloud", computes=3)


def server_db_url(backend):
    """URL of a new, uniquely named database on a server backend (the
    LocalCloud creates it and drops it when it stops)."""
    import sqlalchemy

    url = _server_url(backend, unique_name())
    maintenance = "postgres" if backend == "postgresql" else None
    probe = sqlalchemy.create_engine(url._replace(database=maintenance),
                                     poolclass=sqlalchemy.pool.NullPool)
    try:
        with probe.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        _unreachable(backend, url, exc.orig)
    finally:
        probe.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture(autouse=True)
def _check_invariants(request):
    """After each test: settle, then check the invariants of every cloud of
    the module. A violation fails the test that caused it; one that stays
    (a record left unfinished) is not blamed again on the next tests. A test
    marked xfail (a known product bug) has its violations recorded, not
    reported: the xfail is the report."""
    yield
    known_bug = request.node.get_closest_marker("xfail") is not None
    problems = []
    for cloud in list(_ACTIVE):
        reported = _REPORTED.setdefault(id(cloud), set())
        try:
            cloud.wait_settled()
            new = [p for p in cloud.settled_violations() if p not in reported]
        except Exception as exc:  # report every cloud, not only the first
            new = [str(exc)]
        reported.update(new)
        if new and not known_bug:
            problems.append("%s: %d invariant violation(s):\n  %s" % (
                cloud.workdir, len(new), "\n  ".join(new)))
    if problems:
        pytest.fail("invariants violated after the test:\n" + "\n".join(problems),
                    pytrace=False)
