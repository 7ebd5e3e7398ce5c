"""Request bodies of POST /servers/{id}/action, one schema per action key."""

_no_args = {"type": "null"}

reboot = {
    "type": "object",
    "properties": {
        "type": {"type": "string",
                 "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]},
    },
    "required": ["type"],
    "additionalProperties": False,
}

console_output = {
    "type": ["object", "null"],
    "properties": {
        # Nova takes an integer or its string form; -1 (or none) means all.
        "length": {"type": ["integer", "string", "null"],
                   "pattern": r"^-?[0-9]+\Z", "minimum": -1},
    },
    "additionalProperties": False,
}

# action key in the body -> schema of its value
ACTIONS = {
    "os-start": _no_args,
    "os-stop": _no_args,
    "reboot": reboot,
    "pause": _no_args,
    "unpause": _no_args,
    "suspend": _no_args,
    "resume": _no_args,
    "os-getConsoleOutput": console_output,
    "os-migrateLive": {},  # validated per microversion: schemas/live_migrations.py
    # cold moves, validated per microversion: schemas/cold_moves.py
    "migrate": {},
    "resize": {},
    "confirmResize": {},
    "revertResize": {},
    "evacuate": {},
}


def body(key):
    return {
        "type": "object",
        "properties": {key: ACTIONS[key]},
        "required": [key],
        "additionalProperties": False,
    }
