"""Parsing a JSON request body: malformed, too deep or not Unicode is a 400.

json.loads raises RecursionError (a 500) on a deeply nested document, and
a ``"\\ud800"`` escape gives a string no database or log can encode: both
are refused here with a 400 naming the field.
"""

import json

from vmctl.api import errors

# Nova's and Keystone's bodies nest at most 6 or 7 levels.
MAX_JSON_DEPTH = 32
_TOO_DEEP = "Malformed request body: nested deeper than %d levels."


def parse_json(raw):
    """The JSON document ``raw`` (bytes or str); errors.BadRequest when it is
    not JSON, nests deeper than MAX_JSON_DEPTH or holds a lone surrogate."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise errors.BadRequest(_TOO_DEEP % MAX_JSON_DEPTH) from None
    except ValueError:
        raise errors.BadRequest("Malformed request body") from None
    check_json(data)
    return data


def refuse_too_deep(raw):
    """errors.BadRequest when json.loads runs out of stack on ``raw``
    (pecan parses every JSON body itself, before any handler); anything
    else, malformed included, is left to the handler."""
    try:
        json.loads(raw)
    except RecursionError:
        raise errors.BadRequest(_TOO_DEEP % MAX_JSON_DEPTH) from None
    except ValueError:
        pass


def check_json(data):
    """errors.BadRequest for a document too deep or with lone surrogates."""
    stack = [(data, 1, None)]
    while stack:
        item, depth, field = stack.pop()
        if isinstance(item, str):
            _check_text(item, field)
            continue
        if isinstance(item, dict):
            children = []
            for key, value in item.items():
                _check_text(key, key)
                children.append((value, key))
        elif isinstance(item, list):
            children = [(value, field) for value in item]
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise errors.BadRequest(_TOO_DEEP % MAX_JSON_DEPTH)
        stack.extend((value, depth + 1, name) for value, name in children)


def _check_text(text, field):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.BadRequest(
            "Invalid input for field/attribute %s: not valid UTF-8 text "
            "(a lone UTF-16 surrogate)." % _printable(field or "request body")) from None


def _printable(name):
    return name.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
