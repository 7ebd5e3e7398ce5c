"""Request bodies of /os-aggregates."""

from vmctl.api.schemas import parameter_types

_zone = {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
         "pattern": parameter_types.NAME_PATTERN}
_host = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^\S+\Z"}

create = {
    "type": "object",
    "properties": {"aggregate": {
        "type": "object",
        "properties": {"name": parameter_types.name, "availability_zone": _zone},
        "required": ["name"],
        "additionalProperties": False,
    }},
    "required": ["aggregate"],
    "additionalProperties": False,
}

update = {
    "type": "object",
    "properties": {"aggregate": {
        "type": "object",
        "properties": {"name": parameter_types.name, "availability_zone": _zone},
        "minProperties": 1,
        "additionalProperties": False,
    }},
    "required": ["aggregate"],
    "additionalProperties": False,
}


def _one_action(name, value):
    return {"type": "object", "properties": {name: value}, "required": [name],
            "additionalProperties": False}


_host_body = {"type": "object", "properties": {"host": _host}, "required": ["host"],
              "additionalProperties": False}

_metadata_value = {"type": ["string", "null"], "maxLength": 255}

ACTIONS = {
    "add_host": _one_action("add_host", _host_body),
    "remove_host": _one_action("remove_host", _host_body),
    "set_metadata": _one_action("set_metadata", {
        "type": "object",
        "properties": {"metadata": {
            "type": "object",
            "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}\Z": _metadata_value},
            "additionalProperties": False,
        }},
        "required": ["metadata"],
        "additionalProperties": False,
    }),
}

action = {"oneOf": list(ACTIONS.values())}
