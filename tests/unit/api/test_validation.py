import pytest

from vmctl.api import errors
from vmctl.api import validation
from vmctl.api.schemas import flavor_extra_specs
from vmctl.api.schemas import flavors
from vmctl.api.schemas import server_actions
from vmctl.api.schemas import servers

SERVERS = servers.create(200)


def _server(**kw):
    body = {"name": "vm", "flavorRef": "1", "imageRef": "cirros"}
    body.update(kw)
    return {"server": body}


def _message(schema, body):
    with pytest.raises(errors.BadRequest) as caught:
        validation.validate(schema, body)
    return caught.value.message


def test_valid_server():
    validation.validate(SERVERS, _server(metadata={"a": "b"}, min_count=1,
                                         max_count="3", networks="auto"))


def test_long_name_names_the_field():
    msg = _message(SERVERS, _server(name="x" * 256))
    assert msg.startswith("Invalid input for field/attribute name. Value: ")
    assert "is too long" in msg


def test_blank_name():
    assert "field/attribute name" in _message(SERVERS, _server(name="   "))


def test_unknown_field():
    msg = _message(SERVERS, _server(bogus=1))
    assert "'bogus' was unexpected" in msg


def test_unknown_top_level_field():
    msg = _message(SERVERS, {"server": _server()["server"], "extra": 1})
    assert "'extra' was unexpected" in msg


def test_missing_required():
    assert "'imageRef' is a required property" in _message(
        SERVERS, {"server": {"name": "a", "flavorRef": "1"}})


@pytest.mark.parametrize("field,value,words", [
    ("max_count", 201, "greater than the maximum of 200"),
    ("min_count", -1, "less than the minimum of 1"),
    ("min_count", 0, "less than the minimum of 1"),
    ("max_count", "abc", "does not match"),
])
def test_counts(field, value, words):
    msg = _message(SERVERS, _server(**{field: value}))
    assert "field/attribute %s" % field in msg
    assert words in msg


def test_empty_image():
    assert "field/attribute imageRef" in _message(SERVERS, _server(imageRef=""))


def test_flavor_description_only_from_255():
    body = {"flavor": {"name": "f", "ram": 1, "vcpus": 1, "disk": 0, "description": "d"}}
    assert "'description' was unexpected" in _message(flavors.create, body)
    validation.validate(flavors.create_v255, body)


def test_flavor_ram_must_be_positive():
    body = {"flavor": {"name": "f", "ram": 0, "vcpus": 1, "disk": 0}}
    assert "field/attribute ram" in _message(flavors.create, body)


def test_extra_spec_key_charset():
    msg = _message(flavor_extra_specs.create, {"extra_specs": {"bad/key": "v"}})
    assert "bad/key" in msg


def test_reboot_type():
    msg = _message(server_actions.body("reboot"), {"reboot": {"type": "WARM"}})
    assert "field/attribute type" in msg
    validation.validate(server_actions.body("reboot"), {"reboot": {"type": "soft"}})


def test_action_without_arguments():
    validation.validate(server_actions.body("pause"), {"pause": None})
    assert "pause" in _message(server_actions.body("pause"), {"pause": {"x": 1}})


def test_value_is_truncated_in_message():
    msg = _message(SERVERS, _server(name="x" * 5000))
    assert len(msg) < 1000
    assert msg.endswith("is too long")
