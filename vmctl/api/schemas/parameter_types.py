"""Building blocks shared by the request schemas."""

MAX_INT = 2147483647

# Patterns end with \Z, never $: "$" also matches before a final newline,
# so "<uuid>\n" would pass a uuid pattern (vmctl.api.openapi writes \Z as
# ECMAScript's $, which means the same there).

# Nova's name rules: at most 255 characters, not blank, and no control
# characters (C0, DEL, C1: a NUL or a newline in a name ends up in logs,
# consoles and tables). Linear, whatever the length: no nested repeats.
NAME_PATTERN = r"^(?!\s*\Z)[^\x00-\x1f\x7f-\x9f]*\Z"
name = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "pattern": NAME_PATTERN,
}

# An integer, or a string of digits (as Nova accepts), within [minimum, MAX_INT].
def integer(minimum):
    return {
        "type": ["integer", "string"],
        "pattern": r"^[0-9]+\Z",
        "minimum": minimum,
        "maximum": MAX_INT,
    }


non_negative_integer = integer(0)
positive_integer = integer(1)

boolean = {
    "type": ["boolean", "string"],
    "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes",
             "yes", False, "False", "FALSE", "false", "0", "OFF", "Off", "off",
             "NO", "No", "no"],
}

# Metadata and extra spec keys/values.
metadata_key = {"type": "string", "minLength": 1, "maxLength": 255}
metadata = {
    "type": "object",
    "patternProperties": {
        r"^[a-zA-Z0-9-_:. /]{1,255}\Z": {"type": "string", "maxLength": 255},
    },
    "additionalProperties": False,
}


def to_int(value):
    return int(value)


def to_bool(value):
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "on", "yes")
