"""jsonschema validation with messages that name the offending field."""

import jsonschema
from jsonschema import exceptions as js_exceptions

from vmctl.api import errors

_MAX_VALUE_REPR = 300


def _validator(schema):
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def message_for(error):
    """Nova's wording: 'Invalid input for field/attribute <leaf>. Value: ...'."""
    path = [p for p in error.path if not isinstance(p, int)]
    if not path:
        return error.message
    value = repr(error.instance) if isinstance(error.instance, str) else str(error.instance)
    message = error.message
    if len(value) > _MAX_VALUE_REPR:
        short = value[:_MAX_VALUE_REPR] + "..."
        message = message.replace(value, short)
        value = short
    return "Invalid input for field/attribute %s. Value: %s. %s" % (
        path[-1], value, message)


def errors_of(schema, body):
    return list(_validator(schema).iter_errors(body))


def validate(schema, body):
    """Raise errors.BadRequest naming the field when ``body`` is invalid."""
    found = errors_of(schema, body)
    if found:
        raise errors.BadRequest(message_for(js_exceptions.best_match(found)))


# --- declared request bodies (read by vmctl/api/openapi.py) -------------------

JSON = "application/json"


def request_schema(schema, content_type=JSON):
    """Declare the body a handler takes, for the OpenAPI document.

    ``schema`` is the very dict the handler validates with, or a function
    ``(version, conf) -> dict`` that the handler itself calls when the
    schema depends on the microversion or the configuration; None for a
    body that is not JSON (``content_type`` names what it is).
    """
    def declare(handler):
        handler.request_schema = schema
        handler.request_content_type = content_type
        return handler
    return declare


def declared_schema(handler, version, conf):
    """The schema ``handler`` declared, at ``version`` and ``conf``; None if none."""
    schema = getattr(handler, "request_schema", None)
    return schema(version, conf) if callable(schema) else schema
