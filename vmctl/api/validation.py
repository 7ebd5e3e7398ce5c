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
