"""HTTP errors in Nova's shape: ``{"badRequest": {"code": 400, "message": ...}}``.

Handlers raise an ``ApiError`` subclass (or let a domain error from
vmctl.exception escape: it is mapped by its ``code``); ``hooks.ErrorHook``
turns either into a response. Unexpected exceptions become a
``computeFault`` without a traceback.
"""

import json

import webob

from vmctl import exception

# HTTP status -> the key Nova wraps the error in.
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    500: "computeFault",
    501: "notImplemented",
    503: "serviceUnavailable",
}

COMPUTE_FAULT_MESSAGE = ("Unexpected API Error. Please report this at "
                         "https://example.invalid/vmctl and attach the "
                         "vmctl-api log if possible.")


class ApiError(Exception):
    code = 500

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    code = 400


class Unauthorized(ApiError):
    code = 401


class Forbidden(ApiError):
    code = 403


class NotFound(ApiError):
    code = 404


class MethodNotAllowed(ApiError):
    code = 405


class NotAcceptable(ApiError):
    code = 406


class Conflict(ApiError):
    code = 409


class UnsupportedMediaType(ApiError):
    code = 415


def fault_body(code, message):
    name = FAULT_NAMES.get(code, "computeFault")
    return {name: {"code": code, "message": message}}


def fault_response(code, message, headers=None):
    resp = webob.Response(status=code, content_type="application/json",
                          charset="utf-8")
    resp.text = json.dumps(fault_body(code, message))
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def from_exception(exc):
    """(code, message) for an ApiError or a domain error; None otherwise."""
    if isinstance(exc, ApiError):
        return exc.code, exc.message
    if isinstance(exc, exception.VmctlError) and exc.code < 500:
        return exc.code, exc.message
    return None
