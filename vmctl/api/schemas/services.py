"""Request bodies of /os-services."""

update = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["enabled", "disabled"]},
        "disabled_reason": {"type": "string", "minLength": 1, "maxLength": 255},
        "forced_down": {"type": "boolean"},
    },
    "additionalProperties": False,
    "minProperties": 1,
}
