"""Request bodies of the cold moves, per microversion."""

import pytest

from vmctl.api import errors
from vmctl.api import validation
from vmctl.api.schemas import cold_moves as schema
from vmctl.api.schemas import services as services_schema


def _ok(key, value_schema, value):
    validation.validate(schema.action(key, value_schema), {key: value})


def _bad(key, value_schema, value):
    with pytest.raises(errors.BadRequest):
        _ok(key, value_schema, value)


def test_migrate_host_only_from_2_56():
    _ok("migrate", schema.migrate(False), None)
    _bad("migrate", schema.migrate(False), {"host": "c1"})
    _ok("migrate", schema.migrate(True), {"host": "c1"})
    _ok("migrate", schema.migrate(True), None)
    _bad("migrate", schema.migrate(True), {"host": "c1", "other": 1})


def test_resize_needs_a_flavor_ref():
    _ok("resize", schema.resize, {"flavorRef": "2"})
    _ok("resize", schema.resize, {"flavorRef": 2, "OS-DCF:diskConfig": "AUTO"})
    _bad("resize", schema.resize, {})
    _bad("resize", schema.resize, {"flavorRef": "2", "OS-DCF:diskConfig": "x"})
    _bad("resize", schema.resize, None)


def test_confirm_and_revert_take_null():
    _ok("confirmResize", schema.confirm_resize, None)
    _bad("confirmResize", schema.confirm_resize, {})
    _ok("revertResize", schema.revert_resize, None)


@pytest.mark.parametrize("no_shared, force, body, ok", [
    (False, False, {"onSharedStorage": False}, True),
    (False, False, {}, False),                        # required before 2.14
    (True, False, {}, True),
    (True, False, {"onSharedStorage": True}, False),  # gone in 2.14
    (True, True, {"host": "c2", "force": False}, True),
    (True, False, {"host": "c2", "force": False}, False),  # gone again in 2.68
    (True, False, {"host": "c2", "adminPass": "pw"}, True),
])
def test_evacuate(no_shared, force, body, ok):
    value_schema = schema.evacuate(no_shared, force)
    (_ok if ok else _bad)("evacuate", value_schema, body)


@pytest.mark.parametrize("body, ok", [
    ({"status": "disabled", "disabled_reason": "maintenance"}, True),
    ({"forced_down": True}, True),
    ({"status": "off"}, False),
    ({"forced_down": "yes"}, False),
    ({}, False),
    ({"host": "c1"}, False),
])
def test_service_update(body, ok):
    if ok:
        validation.validate(services_schema.update, body)
    else:
        with pytest.raises(errors.BadRequest):
            validation.validate(services_schema.update, body)
