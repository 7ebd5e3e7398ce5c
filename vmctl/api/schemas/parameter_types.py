"""Building blocks shared by the request schemas."""

MAX_INT = 2147483647

# A non-blank name of at most 255 characters.
name = {
    "type": "string", "minLength": 1, "maxLength": 255,
    "pattern": r"^.*\S.*$",
}

# An integer, or a string of digits (as Nova accepts), within [minimum, MAX_INT].
def integer(minimum):
    return {
        "type": ["integer", "string"],
        "pattern": r"^[0-9]+$",
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
        r"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255},
    },
    "additionalProperties": False,
}


def to_int(value):
    return int(value)


def to_bool(value):
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "on", "yes")
