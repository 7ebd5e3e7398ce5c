"""Request bodies of /flavors/{id}/os-extra_specs."""

_KEY = r"^[a-zA-Z0-9-_:. ]{1,255}\Z"
_VALUE = {"type": ["string", "number", "boolean"], "minLength": 0, "maxLength": 255}

specs = {
    "type": "object",
    "patternProperties": {_KEY: _VALUE},
    "additionalProperties": False,
}

create = {
    "type": "object",
    "properties": {"extra_specs": specs},
    "required": ["extra_specs"],
    "additionalProperties": False,
}

# PUT /os-extra_specs/{key}: exactly one pair, whose key must match the URL.
update = dict(specs, minProperties=1, maxProperties=1)
