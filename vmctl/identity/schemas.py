"""Request schemas of the identity API (Keystone v3 subset).

``validate`` names the offending field but, unlike the compute API's
messages, never echoes its value: it may be a password.
"""


from jsonschema import exceptions as js_exceptions

from vmctl.api import errors
from vmctl.api import request
from vmctl.api import validation
from vmctl.api.schemas import parameter_types

DRAFT7 = "http://json-schema.org/draft-07/schema#"
_name = {"type": "string", "minLength": 1, "maxLength": 255,
         "pattern": parameter_types.NAME_PATTERN}
_id = {"type": "string", "minLength": 1, "maxLength": 64}
_password = {"type": "string", "minLength": 1, "maxLength": 4096}
_text = {"type": ["string", "null"], "maxLength": 255}
_domain = {
    "type": "object",
    "properties": {"id": _id, "name": _name},
    "anyOf": [{"required": ["id"]}, {"required": ["name"]}],
}

_password_user = {
    "type": "object",
    "properties": {"id": _id, "name": _name, "domain": _domain, "password": _password},
    "required": ["password"],
    "anyOf": [{"required": ["id"]}, {"required": ["name", "domain"]}],
}

auth = {
    "type": "object",
    "properties": {
        "auth": {
            "type": "object",
            "properties": {
                "identity": {
                    "type": "object",
                    "properties": {
                        "methods": {"type": "array", "minItems": 1, "maxItems": 1,
                                    "items": {"enum": ["password", "token"]}},
                        "password": {"type": "object",
                                     "properties": {"user": _password_user},
                                     "required": ["user"]},
                        "token": {"type": "object",
                                  "properties": {"id": {"type": "string", "minLength": 1}},
                                  "required": ["id"]},
                    },
                    "required": ["methods"],
                    "oneOf": [
                        {"properties": {"methods": {"contains": {"const": "password"}}},
                         "required": ["password"]},
                        {"properties": {"methods": {"contains": {"const": "token"}}},
                         "required": ["token"]},
                    ],
                },
                "scope": {
                    "type": "object",
                    "properties": {
                        "project": {
                            "type": "object",
                            "properties": {"id": _id, "name": _name, "domain": _domain},
                            "anyOf": [{"required": ["id"]},
                                      {"required": ["name", "domain"]}],
                        },
                    },
                },
            },
            "required": ["identity"],
        },
    },
    "required": ["auth"],
}

_user_props = {
    "name": _name, "password": {"type": ["string", "null"], "minLength": 1,
                                "maxLength": 4096},
    "domain_id": _id, "enabled": {"type": "boolean"}, "email": _text,
    "description": _text, "default_project_id": {"type": ["string", "null"],
                                                 "maxLength": 64},
}

user_create = {
    "type": "object",
    "properties": {"user": {"type": "object", "properties": _user_props,
                            "required": ["name"]}},
    "required": ["user"],
}

user_update = {
    "type": "object",
    "properties": {"user": {"type": "object", "properties": _user_props}},
    "required": ["user"],
}

password_change = {
    "type": "object",
    "properties": {"user": {"type": "object",
                            "properties": {"password": _password,
                                           "original_password": _password},
                            "required": ["password", "original_password"]}},
    "required": ["user"],
}

_project_props = {
    "name": _name, "domain_id": _id, "enabled": {"type": "boolean"},
    "description": _text, "parent_id": {"type": ["string", "null"]},
    "is_domain": {"const": False}, "tags": {"type": "array", "maxItems": 0},
}

project_create = {
    "type": "object",
    "properties": {"project": {"type": "object", "properties": _project_props,
                               "required": ["name"]}},
    "required": ["project"],
}

project_update = {
    "type": "object",
    "properties": {"project": {"type": "object", "properties": _project_props}},
    "required": ["project"],
}

role_create = {
    "type": "object",
    "properties": {"role": {"type": "object",
                            "properties": {"name": _name, "description": _text},
                            "required": ["name"]}},
    "required": ["role"],
}


def _field(error):
    path = [str(p) for p in error.absolute_path if not isinstance(p, int)]
    return ".".join(path) or "request body"


def validate(schema, body):
    found = validation.errors_of(dict(schema, **{"$schema": DRAFT7}), body)
    if found:
        error = js_exceptions.best_match(found)
        if error.validator == "required":
            raise errors.BadRequest("Invalid input for field %s: %s"
                                    % (_field(error), error.message))
        raise errors.BadRequest("Invalid input for field %s." % _field(error))


def body(api, schema):
    """The JSON body of ``api``'s request, validated against ``schema``.

    Strings must be storable: no lone surrogates (JSON lets them be escaped,
    but they are not UTF-8) and no NUL characters.
    """
    data = request.json_body(api.req)
    validate(schema, data)
    _check_strings(data, "request body")
    return data


def _check_strings(value, field):
    if isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, field)
            _check_strings(item, key)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, field)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise errors.BadRequest("Invalid input for field %s: not valid UTF-8." % field) \
                from None
        if "\x00" in value:
            raise errors.BadRequest("Invalid input for field %s: NUL character." % field)


def known(obj, schema):
    """The attributes of ``obj`` that ``schema`` (a create/update schema of
    one entity) describes; others (Keystone lets clients send extra
    attributes) are ignored."""
    (entity,) = schema["required"]
    props = schema["properties"][entity]["properties"]
    return {key: value for key, value in obj.items() if key in props}
