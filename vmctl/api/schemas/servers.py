"""Request bodies of /servers (create)."""

import copy

from vmctl.api.schemas import parameter_types

_ref = {"type": ["string", "integer"], "minLength": 1, "maxLength": 255,
        "pattern": r"\S"}

_server = {
    "type": "object",
    "properties": {
        "name": parameter_types.name,
        "flavorRef": _ref,
        # An image id (or URL ending in one); the handler resolves it as the
        # caller sees it (vmctl/api/references.py).
        "imageRef": {"type": "string", "minLength": 1, "maxLength": 255,
                     "pattern": r"\S"},
        "metadata": parameter_types.metadata,
        "min_count": parameter_types.positive_integer,
        "max_count": parameter_types.positive_integer,
        "return_reservation_id": parameter_types.boolean,
        "availability_zone": {"type": "string", "minLength": 1, "maxLength": 255},
        # Accepted for client compatibility (required by Nova from 2.37);
        # vmctl has no network service yet, so they change nothing.
        "networks": {"oneOf": [{"type": "string", "enum": ["auto", "none"]},
                               {"type": "array", "items": {"type": "object"}}]},
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
        # python-openstackclient sends the image as a local boot device too;
        # only that is accepted (vmctl has no volumes): see servers.py.
        "block_device_mapping_v2": {"type": "array", "maxItems": 1, "items": {
            "type": "object",
            "properties": {
                "source_type": {"type": "string", "enum": ["image"]},
                "destination_type": {"type": "string", "enum": ["local"]},
                "boot_index": {"type": ["integer", "string", "null"]},
                "uuid": {"type": "string", "minLength": 1, "maxLength": 255},
                "delete_on_termination": parameter_types.boolean,
            },
        }},
    },
    "required": ["name", "flavorRef", "imageRef"],
    "additionalProperties": False,
}

# Hints vmctl acts on: "group" (a server group's id); others are accepted
# and ignored, as a scheduler without that filter would.
_scheduler_hints = {
    "type": "object",
    "properties": {"group": {"type": "string", "format": "uuid"}},
    "additionalProperties": True,
}

_create = {
    "type": "object",
    "properties": {"server": _server, "os:scheduler_hints": _scheduler_hints,
                   "OS-SCH-HNT:scheduler_hints": _scheduler_hints},
    "required": ["server"],
    "additionalProperties": False,
}


# 2.90: the guest hostname, one DNS label (letters, digits, hyphens inside).
hostname = {"type": "string", "minLength": 1, "maxLength": 63,
            "pattern": r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\Z"}


# 2.74: the compute host / node to build on.
_destination = {"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": r"^[A-Za-z0-9._-]+\Z"}


def create(max_count, with_hostname=False, with_destination=False):
    """The create schema with min/max_count capped at ``[api] max_count``;
    ``host`` and ``hypervisor_hostname`` are accepted from 2.74 on,
    ``hostname`` from 2.90 on."""
    schema = copy.deepcopy(_create)
    props = schema["properties"]["server"]["properties"]
    if with_destination:
        props["host"] = copy.deepcopy(_destination)
        props["hypervisor_hostname"] = copy.deepcopy(_destination)
    if with_hostname:
        props["hostname"] = copy.deepcopy(hostname)
    for field in ("min_count", "max_count"):
        props[field]["maximum"] = max_count
    return schema
