"""Identity: ``[api] auth_strategy`` = ``vmctl`` | ``keystone`` | ``noauth``.

Every strategy is a WSGI middleware that leaves, under ``IDENTITY_KEY`` in
the environ, the dict the handlers work from: ``{user_id, project_id,
roles}``; a request without a valid identity is a 401, except on public
routes (version documents, token issue). Whatever the strategy, the Fernet
token provider of the embedded identity service is put in the environ for
its handlers (vmctl/identity/api.py).

- ``vmctl`` (default): ``X-Auth-Token`` is a token of the embedded identity
  service (/identity/v3), validated with the Fernet keys of ``[identity]
  key_repository``; roles are read from the database on each request.
- ``keystone``: an external Keystone validates tokens through
  keystonemiddleware's ``auth_token`` (options in ``[keystone_authtoken]``);
  its ``X-User-Id``, ``X-Project-Id``, ``X-Roles`` and
  ``X-Identity-Status`` headers become the identity.
- ``noauth`` takes the identity from ``X-Auth-Token: user:project`` (or,
  without a token, from ``X-Auth-User`` / ``X-Auth-Project-Id`` as Nova's
  noauth2). User ``admin`` gets the roles admin, member and reader; anyone
  else member and reader. It is for development and tests only: vmctl-api
  refuses to start with it on a non-loopback address (see ``check_listen``).

Tokens are never logged.
"""

import ipaddress
import json
import logging
import re

from vmctl.api import errors
from vmctl.api import request
from vmctl.api import routes
from vmctl.identity import api as identity_api
from vmctl.identity import cache as identity_cache
from vmctl.identity import core as identity_core
from vmctl.identity import exception as identity_exc
from vmctl.identity import guard as identity_guard
from vmctl.identity import tokens

LOG = logging.getLogger(__name__)

IDENTITY_KEY = "vmctl.identity"
ADMIN_USER = "admin"
ADMIN_ROLES = ["admin", "member", "reader"]
USER_ROLES = ["member", "reader"]
_NAME_RE = re.compile(r"[A-Za-z0-9_.@-]{1,255}")
STRATEGIES = ("vmctl", "keystone", "noauth")


def _is_public(environ):
    return routes.is_public(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""))


def _unauthorized(start_response, message, headers=()):
    body = json.dumps(errors.fault_body(401, message)).encode("utf-8")
    start_response("401 Unauthorized", [("Content-Type", "application/json"),
                                        ("Content-Length", str(len(body))), *headers])
    return [body]


# --- noauth ------------------------------------------------------------------

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
    if not (_NAME_RE.fullmatch(user) and _NAME_RE.fullmatch(project)):
        return None
    roles = ADMIN_ROLES if user == ADMIN_USER else USER_ROLES
    # Development only: user admin is the cloud administrator on any project
    # (the computes' default ``admin:service`` token reads every image).
    return {"user_id": user, "project_id": project, "roles": list(roles),
            "is_admin_project": user == ADMIN_USER}


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
        elif not _is_public(environ):
            return _unauthorized(
                start_response, "Authentication required: send 'X-Auth-Token: user:project'.")
        return self.app(environ, start_response)


# --- vmctl: tokens of the embedded identity service ---------------------------

def www_authenticate(conf):
    """The header Keystone answers a 401 with: where to get a token."""
    return ("WWW-Authenticate", 'Keystone uri="%s/identity"' % request.public_endpoint(conf))


class VmctlAuthMiddleware:
    """Validates ``X-Auth-Token`` with the embedded identity service."""

    def __init__(self, app, conf, db, provider):
        self.app = app
        self.conf = conf
        self.db = db
        self.provider = provider
        self.cache = identity_cache.TokenCache(conf.identity.token_cache_seconds)

    def __call__(self, environ, start_response):
        environ.pop(IDENTITY_KEY, None)
        token = environ.get("HTTP_X_AUTH_TOKEN")
        if token:
            identity = self._validate(token)
            if identity is not None:
                environ[IDENTITY_KEY] = identity
        if IDENTITY_KEY not in environ and not _is_public(environ):
            return _unauthorized(start_response, identity_core.AUTH_FAILED,
                                 [www_authenticate(self.conf)])
        if _changes_identity(environ):
            try:
                return self.app(environ, start_response)
            finally:
                # Disabled users, new passwords, removed roles, revocations:
                # no cached validation outlives them in this process.
                self.cache.clear()
        return self.app(environ, start_response)

    def _validate(self, token):
        """The identity dict of a valid token, else None."""
        identity = self.cache.get(token)
        if identity is not None:
            return identity
        try:
            validated = identity_core.validate(self.db, self.provider, token)
        except identity_exc.InvalidToken:
            LOG.info("Rejected an invalid, expired or revoked token")
            return None
        except tokens.KeyRepositoryError as exc:
            LOG.error("Cannot validate tokens: %s", exc)
            return None
        identity = validated.identity()
        self.cache.put(token, identity, validated.data.expires_at)
        return identity


def _changes_identity(environ):
    """A write to the identity API, other than getting a token (which
    changes nothing a cached validation depends on, and happens all the
    time)."""
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
    if method in ("GET", "HEAD") or not path.startswith("/identity/"):
        return False
    return not (method == "POST" and path.rstrip("/") == "/identity/v3/auth/tokens")


# --- keystone: keystonemiddleware's auth_token in front -------------------------

def identity_from_keystone(environ):
    """The identity auth_token vouched for, or None (X-Identity-Status)."""
    if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
        return None
    user = environ.get("HTTP_X_USER_ID")
    project = environ.get("HTTP_X_PROJECT_ID")
    if not user or not project:
        return None
    roles = [r.strip() for r in environ.get("HTTP_X_ROLES", "").split(",") if r.strip()]
    return {"user_id": user, "project_id": project, "roles": roles,
            "user_name": environ.get("HTTP_X_USER_NAME"),
            "project_name": environ.get("HTTP_X_PROJECT_NAME"),
            "is_admin_project": _header_bool(environ.get("HTTP_X_IS_ADMIN_PROJECT"))}


def _header_bool(value):
    """True / False from keystonemiddleware's header, None when absent."""
    if value is None:
        return None
    return value.strip().lower() == "true"


class KeystoneIdentityMiddleware:
    """Behind auth_token (with delay_auth_decision): its headers -> identity."""

    def __init__(self, app, conf):
        self.app = app
        self.conf = conf

    def __call__(self, environ, start_response):
        environ.pop(IDENTITY_KEY, None)
        identity = identity_from_keystone(environ)
        if identity is not None:
            environ[IDENTITY_KEY] = identity
        elif not _is_public(environ):
            uri = self.conf.keystone_authtoken.www_authenticate_uri
            headers = [("WWW-Authenticate", 'Keystone uri="%s"' % uri)] if uri else []
            return _unauthorized(start_response, identity_core.AUTH_FAILED, headers)
        return self.app(environ, start_response)


def keystone_middleware(conf, app):
    from keystonemiddleware import auth_token

    inner = KeystoneIdentityMiddleware(app, conf)
    # Public routes are answered without a token: auth_token only marks
    # the request (X-Identity-Status) and KeystoneIdentityMiddleware decides.
    return auth_token.AuthProtocol(inner, {"oslo_config_config": conf,
                                           "delay_auth_decision": True})


# --- assembly --------------------------------------------------------------------

class ProviderMiddleware:
    """Hands the token provider and the process's AuthGuard (lockout,
    throttle) to the identity handlers."""

    def __init__(self, app, provider, guard):
        self.app = app
        self.provider = provider
        self.guard = guard

    def __call__(self, environ, start_response):
        environ[identity_api.PROVIDER_KEY] = self.provider
        environ[identity_api.GUARD_KEY] = self.guard
        return self.app(environ, start_response)


def make_provider(conf):
    return tokens.FernetProvider(conf.identity.key_repository,
                                 conf.identity.token_expiration)


def make_middleware(conf, app, db=None, provider=None):
    strategy = conf.api.auth_strategy
    provider = provider or make_provider(conf)
    app = ProviderMiddleware(app, provider, identity_guard.AuthGuard(conf))
    if strategy == "noauth":
        return NoAuthMiddleware(app)
    if strategy == "vmctl":
        if db is None:
            raise ValueError("auth_strategy vmctl needs the database")
        return VmctlAuthMiddleware(app, conf, db, provider)
    if strategy == "keystone":
        return keystone_middleware(conf, app)
    raise ValueError("Unknown [api] auth_strategy %r" % strategy)


def check_listen(conf):
    """An error message when the configuration must not be served, else None:
    noauth on a non-loopback address, or vmctl without token keys."""
    if conf.api.auth_strategy == "vmctl":
        try:
            tokens.load_keys(conf.identity.key_repository)
        except (tokens.KeyRepositoryError, OSError, ValueError) as exc:
            return ("[api] auth_strategy = vmctl needs the token keys of [identity] "
                    "key_repository: %s. Run 'vmctl-manage fernet setup'." % exc)
        return None
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
