"""Request ids, the one-line access log, and logs a client cannot forge.

Whatever a request carries (its decoded path, a name in its body) may hold
control characters: a ``%0A`` in a path would start a forged log line, a
``%00`` make the log binary. ``escape_control`` writes them as ``\\xNN``;
``ControlCharFilter`` applies it to every message vmctl-api logs.
"""

import logging
import re
import time
import uuid

from vmctl import context as vmctl_context

LOG = logging.getLogger(__name__)

REQUEST_ID_KEY = "vmctl.request_id"
GLOBAL_REQUEST_ID_KEY = "vmctl.global_request_id"
RESPONSE_HEADERS = ("x-openstack-request-id", "x-compute-request-id")
_GLOBAL_ID_RE = re.compile(r"req-[a-f0-9]{8}(-[a-f0-9]{4}){3}-[a-f0-9]{12}")
# C0 and C1 controls, DEL and the Unicode line and paragraph separators.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_control(text):
    """``text`` with every control character written as ``\\xNN``/``\\uNNNN``."""
    return _CONTROL_RE.sub(_escaped, text)


def _escaped(match):
    code = ord(match.group())
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


class ControlCharFilter(logging.Filter):
    """Escapes control characters in the message of every record (the
    traceback of an exception keeps its lines: it is not the client's)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # the handler reports a bad format itself
            return True
        escaped = escape_control(message)
        if escaped != message:
            record.msg, record.args = escaped, ()
        return True


def install_log_filter():
    """Put ControlCharFilter on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ControlCharFilter) for f in handler.filters):
            handler.addFilter(ControlCharFilter())


def new_request_id():
    return "req-%s" % uuid.uuid4()


class RequestIdMiddleware:
    """Gives each request a ``req-<uuid>`` id, returns it in the response
    headers, and logs ``METHOD path status ms request-id`` when done.

    A valid incoming ``X-OpenStack-Request-ID`` becomes the global request
    id (as in Nova). Headers are never logged, so neither is the token.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        request_id = new_request_id()
        environ[REQUEST_ID_KEY] = request_id
        incoming = environ.get("HTTP_X_OPENSTACK_REQUEST_ID", "")
        if _GLOBAL_ID_RE.fullmatch(incoming):
            environ[GLOBAL_REQUEST_ID_KEY] = incoming
        # Log lines of this thread now carry this request's id (oslo.log
        # reads the thread's current context); the app replaces it with the
        # full context once the caller is known.
        vmctl_context.RequestContext(request_id=request_id, overwrite=True)
        started = time.monotonic()
        status_seen = []

        def _start_response(status, headers, exc_info=None):
            headers = [h for h in headers if h[0].lower() not in RESPONSE_HEADERS]
            headers += [(name, request_id) for name in RESPONSE_HEADERS]
            status_seen.append(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, _start_response)
            if environ.get("REQUEST_METHOD") == "HEAD":
                return _without_body(result)
            return result
        finally:
            path = environ.get("PATH_INFO", "")
            if environ.get("QUERY_STRING"):
                path += "?" + environ["QUERY_STRING"]
            LOG.info("%s %s status: %s time: %.1fms %s",
                     escape_control(environ.get("REQUEST_METHOD", "")), escape_control(path),
                     status_seen[0] if status_seen else "-",
                     (time.monotonic() - started) * 1000.0, request_id)


def _without_body(result):
    """A HEAD answer has headers only: a body would be read by the client
    as the start of the next response on the connection."""
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return []
