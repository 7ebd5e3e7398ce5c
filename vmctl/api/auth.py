"""Identity: ``[api] auth_strategy``. Only ``noauth`` exists for now.

noauth takes the identity from ``X-Auth-Token: user:project`` (or, without
a token, from ``X-Auth-User`` / ``X-Auth-Project-Id`` as Nova's noauth2).
User ``admin`` gets the roles admin, member and reader; anyone else member
and reader. Missing or garbled identity is a 401, except on public routes
(the version documents). It is for development and tests only: vmctl-api
refuses to start with it on a non-loopback address (see ``check_listen``).
"""

import ipaddress
import json
import re

from vmctl.api import errors
from vmctl.api import routes

IDENTITY_KEY = "vmctl.identity"
ADMIN_USER = "admin"
ADMIN_ROLES = ["admin", "member", "reader"]
USER_ROLES = ["member", "reader"]
_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,255}$")


def identity_from_headers(token, user, project):
    """{user_id, project_id, roles}, or None when the headers don't say."""
    if token is not None:
        user, sep, project = token.partition(":")
        if not sep:
            return None
    elif user is not None:
        project = project or user
    if user is None:
        return None
    if not (_NAME_RE.match(user) and _NAME_RE.match(project)):
        return None
    roles = ADMIN_ROLES if user == ADMIN_USER else USER_ROLES
    return {"user_id": user, "project_id": project, "roles": list(roles)}


class NoAuthMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ.pop(IDENTITY_KEY, None)
        identity = identity_from_headers(environ.get("HTTP_X_AUTH_TOKEN"),
                                         environ.get("HTTP_X_AUTH_USER"),
                                         environ.get("HTTP_X_AUTH_PROJECT_ID"))
        if identity is not None:
            environ[IDENTITY_KEY] = identity
        elif not routes.is_public(environ.get("PATH_INFO", "")):
            return _unauthorized(start_response)
        return self.app(environ, start_response)


def _unauthorized(start_response):
    body = json.dumps(errors.fault_body(
        401, "Authentication required: send 'X-Auth-Token: user:project'."))
    start_response("401 Unauthorized", [("Content-Type", "application/json"),
                                        ("Content-Length", str(len(body)))])
    return [body.encode("utf-8")]


def make_middleware(conf, app):
    strategy = conf.api.auth_strategy
    if strategy == "noauth":
        return NoAuthMiddleware(app)
    raise ValueError("Unknown [api] auth_strategy %r" % strategy)


def check_listen(conf):
    """An error message when the configuration must not be served, else None."""
    if conf.api.auth_strategy != "noauth":
        return None
    if is_loopback(conf.api.listen):
        return None
    return ("[api] auth_strategy = noauth trusts any caller and is only allowed "
            "on a loopback address; [api] listen = %s is not one. Listen on "
            "127.0.0.1 or ::1." % conf.api.listen)


def is_loopback(address):
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
