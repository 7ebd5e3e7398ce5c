"""Request bodies of /flavors (create)."""

import copy

from vmctl.api.schemas import parameter_types

_flavor = {
    "type": "object",
    "properties": {
        "name": parameter_types.name,
        # Optional; a uuid is generated when absent or null.
        "id": {
            "type": ["string", "null"], "minLength": 1, "maxLength": 255,
            "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )\Z",
        },
        "ram": parameter_types.positive_integer,
        "vcpus": parameter_types.positive_integer,
        "disk": parameter_types.non_negative_integer,
        "OS-FLV-EXT-DATA:ephemeral": parameter_types.non_negative_integer,
        "swap": parameter_types.non_negative_integer,
        "rxtx_factor": {"type": ["number", "string"],
                        "pattern": r"^[0-9]+(\.[0-9]+)?\Z",
                        "minimum": 0, "exclusiveMinimum": True,
                        "maximum": 3.40282e38},
        "os-flavor-access:is_public": parameter_types.boolean,
    },
    "required": ["name", "ram", "vcpus", "disk"],
    "additionalProperties": False,
}

create = {
    "type": "object",
    "properties": {"flavor": _flavor},
    "required": ["flavor"],
    "additionalProperties": False,
}

# FLAVOR_DESCRIPTION: a description may be given.
create_v255 = copy.deepcopy(create)
create_v255["properties"]["flavor"]["properties"]["description"] = {
    "type": ["string", "null"], "minLength": 0, "maxLength": 65535,
    "pattern": r"^[^\x00-\x1f\x7f]*\Z",
}
