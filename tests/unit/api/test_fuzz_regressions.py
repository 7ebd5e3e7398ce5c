"""Regressions found by fuzzing the API (tests/functional/test_api_fuzz.py),
one test each, on the whole WSGI stack in-process."""

import json
import logging
import urllib.parse

import pytest

from tests.unit.api.test_app import env  # noqa: F401  (fixture)
from vmctl import exception
from vmctl.db import aggregates as db_aggregates
from vmctl.db import api as db_api
from vmctl.db import compute_nodes as db_compute_nodes
from vmctl.db import migration_records as db_migrations
from vmctl.db import models
from vmctl.db import services as db_services


@pytest.fixture
def call(env):  # noqa: F811
    """test_app's whole stack, as the admin; answers the response."""
    send = env[0]

    def call(method, path, body=None, token="admin:admin", version=None):
        return send(method, path, body, token=token, version=version)[0]

    return call


@pytest.mark.parametrize("path,token,status", [
    ("/v2.1/flavors", "admin:admin", 405),  # no HEAD route: 405, headers only
    ("/v2.1/flavors", None, 401),            # refused by the auth middleware
    ("/v2.1/no-such-thing", "admin:admin", 404),
])
def test_head_answers_have_no_body(call, path, token, status):
    """A body on a HEAD answer was read by clients as the next response."""
    resp = call("HEAD", path, token=token)
    assert resp.status_int == status
    assert resp.body == b""


# --- ids and numbers that str.isdigit() lets through -------------------------
# "²".isdigit() is true but int("²") fails; a long run of digits overflows
# the integer columns in SQL. Both were 500s.
NOT_IDS = ["\u00b2", "99999999999999999999"]


@pytest.mark.parametrize("value", NOT_IDS)
@pytest.mark.parametrize("version", ["2.1", "2.53"])
def test_odd_hypervisor_id_is_a_4xx(call, value, version):
    resp = call("GET", "/v2.1/os-hypervisors/%s" % urllib.parse.quote(value),
                version=version)
    assert resp.status_int in (400, 404), resp.text


@pytest.mark.parametrize("value", NOT_IDS)
@pytest.mark.parametrize("name", ["minRam", "minDisk"])
def test_odd_flavor_filter_is_a_400(call, name, value):
    resp = call("GET", "/v2.1/flavors?%s=%s" % (name, urllib.parse.quote(value)))
    assert resp.status_int == 400, resp.text
    assert name in resp.json["badRequest"]["message"]


@pytest.mark.parametrize("field,value", [
    ("ram", "99999999999999999999"), ("vcpus", "2147483648"), ("disk", "99999999999"),
    ("swap", "99999999999"), ("OS-FLV-EXT-DATA:ephemeral", "99999999999"),
    ("ram", "0"),  # below the minimum, which jsonschema checks only on numbers
])
def test_flavor_numbers_as_strings_are_bounded(call, field, value):
    flavor = {"name": "f", "ram": 64, "vcpus": 1, "disk": 1, field: value}
    resp = call("POST", "/v2.1/flavors", json.dumps({"flavor": flavor}).encode())
    assert resp.status_int == 400, resp.text
    assert field in resp.json["badRequest"]["message"]


@pytest.mark.parametrize("value", NOT_IDS)
@pytest.mark.parametrize("lookup,missing", [
    (db_migrations.get, db_migrations.MigrationNotFound),
    (db_services.get, exception.ServiceNotFound),
    (db_compute_nodes.get, exception.ComputeNodeNotFound),
    (db_aggregates.get, db_aggregates.AggregateNotFound),
])
def test_odd_ids_are_not_found(tmp_path, lookup, missing, value):
    db = db_api.Database("sqlite:///%s" % (tmp_path / "ids.sqlite"))
    models.Base.metadata.create_all(db.engine)
    try:
        with db.reader() as session, pytest.raises(missing):
            lookup(session, value)
    finally:
        db.dispose()


def test_int_id():
    assert db_api.int_id("42") == 42
    assert db_api.int_id(7) == 7
    assert db_api.int_id(str(db_api.MAX_ID)) == db_api.MAX_ID
    for value in NOT_IDS + [str(db_api.MAX_ID + 1), "-1", "1.5", "", "abc"]:
        assert db_api.int_id(value) is None, value


@pytest.mark.parametrize("value", NOT_IDS)
def test_odd_server_group_offset_is_a_400(call, value):
    resp = call("GET", "/v2.1/os-server-groups?offset=%s" % urllib.parse.quote(value))
    assert resp.status_int == 400, resp.text
    assert "offset" in resp.json["badRequest"]["message"]


def test_json_body_that_is_not_utf8_is_a_quiet_400(call, caplog):
    """pecan logged a traceback (at ERROR) for each such body."""
    with caplog.at_level(logging.INFO):
        resp = call("POST", "/v2.1/flavors", b'{"flavor": "\xff\xfe"}')
    assert resp.status_int == 400, resp.text
    assert "UTF-8" in resp.json["badRequest"]["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_unknown_flavor_marker_is_a_400(call):
    """Found as a 404 by the fuzzer; the other lists answer 400."""
    resp = call("GET", "/v2.1/flavors?marker=no-such-flavor")
    assert resp.status_int == 400, resp.text
    assert "marker" in resp.json["badRequest"]["message"]
