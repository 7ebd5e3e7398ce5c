"""What a request may cost before anyone knows who sent it.

``LimitsMiddleware`` sits outside authentication, so it holds for anonymous
clients too:

- a body larger than ``[api] max_request_body_size`` is answered 413: from
  its Content-Length before a byte of it is read, or, for a chunked body,
  as soon as the limit is passed;
- any other body is read whole here (it is small), within the request's
  read deadline (vmctl.api.httpserver), before the request takes one of
  the ``[api] threads`` application slots: a slow client holds a
  connection, never the application;
- image data (a handler declaring an ``application/octet-stream`` body)
  streams as before: its read deadline is lifted and it is limited by the
  image service.

JSON bodies themselves are checked where they are parsed
(vmctl.api.jsonbody).
"""

import io
import json
import threading

from vmctl.api import errors
from vmctl.api import httpserver
from vmctl.api import routes
from vmctl.api import validation

OCTET_STREAM = "application/octet-stream"
_READ_CHUNK = 64 * 1024


def _fault(start_response, code, status, message):
    body = json.dumps(errors.fault_body(code, message)).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def streams_body(method, path):
    """Whether the route of ``method path`` takes a streamed (non-JSON) body."""
    found, _ = routes.match(method, path)
    if found is None:
        return False
    return getattr(found.handler, "request_content_type", validation.JSON) == OCTET_STREAM


class _TooLarge(Exception):
    pass


class _Incomplete(Exception):
    pass


def _read_body(environ, limit):
    """The whole body (bytes) of a request whose length is known or chunked."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        length = int(length)
        data = stream.read(length)
        if len(data) < length:
            raise _Incomplete()
        return data
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return b""
    parts, size = [], 0
    while True:
        part = stream.read(_READ_CHUNK)
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > limit:
            raise _TooLarge()
        parts.append(part)


def _content_length(environ):
    """The declared body length; None when absent; -1 when malformed."""
    value = environ.get("CONTENT_LENGTH")
    if not value:
        return None
    try:
        length = int(value)
    except ValueError:
        return -1
    return length if length >= 0 else -1


class LimitsMiddleware:
    def __init__(self, app, conf):
        self.app = app
        self.max_body = conf.api.max_request_body_size
        self.slots = threading.BoundedSemaphore(conf.api.threads)

    def __call__(self, environ, start_response):
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if streams_body(method, path):
            lift = environ.get(httpserver.LIFT_DEADLINE_KEY)
            if lift is not None:
                lift()
            return self._serve(environ, start_response)
        length = _content_length(environ)
        if length == -1:
            return _fault(start_response, 400, "400 Bad Request",
                          "Malformed Content-Length header.")
        if length is not None and length > self.max_body:
            return self._too_large(start_response)
        try:
            body = _read_body(environ, self.max_body)
        except _TooLarge:
            return self._too_large(start_response)
        except _Incomplete:
            return _fault(start_response, 400, "400 Bad Request",
                          "The request body is shorter than its Content-Length.")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self._serve(environ, start_response)

    def _serve(self, environ, start_response):
        with self.slots:
            return self.app(environ, start_response)

    def _too_large(self, start_response):
        return _fault(start_response, 413, "413 Request Entity Too Large",
                      "Request is too large: the limit is %d bytes." % self.max_body)
