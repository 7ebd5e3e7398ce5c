"""Request bodies of the cold moves: migrate, resize, confirmResize,
revertResize and evacuate (POST /servers/{id}/action), per microversion."""

from vmctl.api.schemas import parameter_types

_host = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}


def migrate(with_host):
    """``{"migrate": null}``; from 2.56 ``{"migrate": {"host": ...}}`` too."""
    if not with_host:
        return {"type": "null"}
    return {"type": ["object", "null"], "properties": {"host": _host},
            "additionalProperties": False}


resize = {
    "type": "object",
    "properties": {
        "flavorRef": {"type": ["string", "integer"], "minLength": 1},
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
    },
    "required": ["flavorRef"],
    "additionalProperties": False,
}

confirm_resize = {"type": "null"}
revert_resize = {"type": "null"}

_admin_pass = {"type": "string", "maxLength": 255}


def evacuate(no_shared_storage, with_force):
    """Before 2.14 ``onSharedStorage`` is required; from 2.14 it is gone;
    2.29 to 2.67 accept ``force`` (vmctl always checks the host)."""
    props = {"host": _host, "adminPass": _admin_pass}
    required = []
    if not no_shared_storage:
        props["onSharedStorage"] = parameter_types.boolean
        required.append("onSharedStorage")
    if with_force:
        props["force"] = parameter_types.boolean
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


def action(key, value_schema):
    return {"type": "object", "properties": {key: value_schema}, "required": [key],
            "additionalProperties": False}
