"""Request bodies of live migration and its sub-resources."""

from vmctl.api.schemas import parameter_types

_host = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}


def migrate_live(block_auto, with_force=False):
    """os-migrateLive: before 2.25 block_migration is a boolean and
    disk_over_commit is required; from 2.25 it may be "auto"; 2.30 to 2.67
    accept ``force`` (vmctl checks the host all the same)."""
    block = dict(parameter_types.boolean)
    props = {"host": _host, "block_migration": block}
    if with_force:
        props["force"] = parameter_types.boolean
    required = ["block_migration", "host"]
    if block_auto:
        block["enum"] = block["enum"] + ["auto"]
    else:
        props["disk_over_commit"] = parameter_types.boolean
        required.append("disk_over_commit")
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


force_complete = {
    "type": "object",
    "properties": {"force_complete": {"type": "null"}},
    "required": ["force_complete"],
    "additionalProperties": False,
}
