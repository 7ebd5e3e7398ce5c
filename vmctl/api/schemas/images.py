"""Request bodies of the image service: create, and the image after a PATCH.

Extra properties (kernel_id, ramdisk_id, os_command_line, ...) are any
other top-level key with a string value, as in Glance.
"""

from vmctl.api.schemas import parameter_types

DISK_FORMATS = ["raw", "qcow2", "aki", "ari", "iso"]
CONTAINER_FORMATS = ["bare", "aki", "ari"]
VISIBILITIES = ["public", "private", "shared", "community"]

UUID_PATTERN = (r"^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                r"-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}\Z")

# Set by the service, never by a request (Glance answers 403 for these).
READ_ONLY = ("status", "size", "virtual_size", "checksum", "os_hash_algo",
             "os_hash_value", "created_at", "updated_at", "self", "file",
             "schema", "direct_url", "locations", "deleted", "deleted_at")
# Extra property names Glance keeps for itself.
RESERVED_PREFIX = "os_glance"
MAX_PROPERTY_KEY = 255
MAX_PROPERTIES = 128

_base = {
    "name": {"type": ["string", "null"], "maxLength": 255},
    "disk_format": {"enum": [None] + DISK_FORMATS},
    "container_format": {"enum": [None] + CONTAINER_FORMATS},
    "visibility": {"enum": VISIBILITIES},
    "protected": {"type": "boolean"},
    "min_disk": {"type": "integer", "minimum": 0,
                 "maximum": parameter_types.MAX_INT},
    "min_ram": {"type": "integer", "minimum": 0,
                "maximum": parameter_types.MAX_INT},
    "tags": {"type": "array", "maxItems": 128,
             "items": {"type": "string", "minLength": 1, "maxLength": 255}},
    "owner": {"type": ["string", "null"], "maxLength": 255},
}

_extra = {"type": "string", "maxLength": 65535}

create = {
    "type": "object",
    "properties": dict(_base, id={"type": "string", "pattern": UUID_PATTERN}),
    "additionalProperties": _extra,
}

# The image as a PATCH leaves it (id and owner are not patched).
patched = {
    "type": "object",
    "properties": {k: v for k, v in _base.items() if k != "owner"},
    "additionalProperties": _extra,
}

# PATCH body, application/openstack-images-v2.1-json-patch.
patch = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "op": {"enum": ["add", "replace", "remove"]},
            "path": {"type": "string", "pattern": "^/"},
            "value": {},
        },
        "required": ["op", "path"],
        "additionalProperties": False,
    },
}
