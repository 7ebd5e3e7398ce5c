"""Authentication and token validation against the identity tables.

``authenticate`` turns a validated ``auth`` request body into a new token;
``validate`` turns a token back into who holds it, checking everything that
can have changed since it was issued: expiry, explicit revocation, the user
(deleted, disabled, password changed) and the project. Roles are read
fresh on every validation. Neither ever logs the password or the token.
"""

import logging

from vmctl.db import identity as db_identity
from vmctl.db import models
from vmctl.db.identity_models import DEFAULT_DOMAIN_ID
from vmctl.identity import exception
from vmctl.identity import passwords
from vmctl.identity import tokens

LOG = logging.getLogger(__name__)

DEFAULT_DOMAIN_NAME = "Default"
# Implied roles (as Keystone's defaults): whoever holds admin on a project
# also acts as member and reader there, a member also as reader.
IMPLIED_ROLES = {"admin": ("member", "reader"), "member": ("reader",)}
AUTH_FAILED = "The request you have made requires authentication."


class Validated:
    """A valid token: its data, user and project rows, role rows."""

    def __init__(self, data, user, project, roles):
        self.data = data
        self.user = user
        self.project = project
        self.roles = roles

    def identity(self):
        """The dict the API's handlers are given (see vmctl.api.auth)."""
        return {"user_id": self.user.id,
                "project_id": self.project.id if self.project else None,
                "roles": [r.name for r in self.roles],
                "user_name": self.user.name,
                "project_name": self.project.name if self.project else None}


def check_domain(domain):
    """Only the Default domain exists: by id ``default`` or name ``Default``."""
    if not domain:
        return
    if "id" in domain and domain["id"] != DEFAULT_DOMAIN_ID:
        raise exception.Unauthorized(AUTH_FAILED)
    if "name" in domain and domain["name"] != DEFAULT_DOMAIN_NAME:
        raise exception.Unauthorized(AUTH_FAILED)


# --- authentication ----------------------------------------------------------

class _PasswordRefused(Exception):
    """A failed password authentication; for a known user, its id and its
    failure series (plain values: the session's rollback expires the row)."""

    def __init__(self, user=None):
        super().__init__()
        self.user_id = user.id if user is not None else None
        self.failed_auth_at = user.failed_auth_at if user is not None else None


def _password_user(session, method, guard):
    """The user row whose password this is; _PasswordRefused otherwise.

    The password is checked against a hash of the same cost whether the
    user exists or not (guard.dummy_hash), and the name a client typed is
    never logged: on a failure it may well be a password.
    """
    user_ref = method["user"]
    if "id" in user_ref:
        user = _user_or_none(session, user_ref["id"])
    else:
        check_domain(user_ref.get("domain"))
        user = db_identity.find_user(session, user_ref["name"])
    hashed = user.password_hash if user is not None else None
    matches = passwords.check_password(user_ref.get("password"),
                                       hashed or guard.dummy_hash())
    if user is None:
        LOG.info("Authentication failed for an unknown user")
        raise _PasswordRefused()
    if guard.locked_out(user, models.utcnow()):
        LOG.info("Authentication refused: user %s is locked out", user.id)
        raise _PasswordRefused(user)
    if not (hashed and matches):
        LOG.info("Authentication failed for user %s", user.id)
        raise _PasswordRefused(user)
    return user


def _user_or_none(session, user_id):
    try:
        return db_identity.get_user(session, user_id)
    except exception.UserNotFound:
        return None


def _scope_project(session, scope, user):
    """The project row to scope to (request scope, else the user's default)."""
    if scope is None:
        if user.default_project_id is None:
            raise exception.Unauthorized(
                "Unscoped tokens are not supported: give a project scope.")
        return _project_or_401(session, user.default_project_id)
    ref = scope.get("project")
    if ref is None:
        raise exception.Unauthorized("Only project scope is supported.")
    if "id" in ref:
        return _project_or_401(session, ref["id"])
    check_domain(ref.get("domain"))
    project = db_identity.find_project(session, ref["name"])
    if project is None:
        raise exception.Unauthorized("Could not find project %s." % ref["name"])
    return project


def _project_or_401(session, project_id):
    try:
        return db_identity.get_project(session, project_id)
    except exception.ProjectNotFound:
        raise exception.Unauthorized("Could not find project %s." % project_id) from None


def authenticate(db, provider, auth, guard):
    """(token string, Validated) for a schema-checked ``auth`` object;
    ``guard`` is the process's vmctl.identity.guard.AuthGuard."""
    try:
        token, validated = _authenticate(db, provider, auth, guard)
    except _PasswordRefused as refused:
        if refused.user_id is not None and guard.counts_failures():
            _count_failure(db, guard, refused)
        raise exception.Unauthorized(AUTH_FAILED) from None
    if validated.user.failed_auth_count and "password" in validated.data.methods:
        with db.transaction() as session:
            db_identity.reset_auth_failures(session, validated.user.id)
    return token, validated


def _count_failure(db, guard, refused):
    now = models.utcnow()
    with db.transaction() as session:
        db_identity.record_auth_failure(session, refused.user_id, now,
                                        restart=guard.series_over(refused.failed_auth_at, now))


def _authenticate(db, provider, auth, guard):
    methods = auth["identity"]["methods"]
    with db.reader() as session:
        if "password" in methods:
            user = _password_user(session, auth["identity"]["password"], guard)
        else:
            user = validate_in(session, provider, auth["identity"]["token"]["id"]).user
        if not user.enabled:
            LOG.info("Authentication refused: user %s is disabled", user.id)
            raise exception.Unauthorized(AUTH_FAILED)
        project = _scope_project(session, auth.get("scope"), user)
        if not project.enabled:
            raise exception.Unauthorized("Project %s is disabled." % project.id)
        roles = effective_roles(session, user.id, project.id)
        if not roles:
            raise exception.Unauthorized(
                "User %s has no role on project %s." % (user.id, project.id))
        token, data = provider.issue(user.id, project.id, methods)
    LOG.info("Issued token %s to user %s on project %s", data.audit_id, user.id, project.id)
    return token, Validated(data, user, project, roles)


# --- validation --------------------------------------------------------------

def validate(db, provider, token):
    """Validated for a token that is still good; InvalidToken if not."""
    data = read(provider, token)
    with db.reader() as session:
        return check(session, data)


def validate_in(session, provider, token):
    return check(session, read(provider, token))


def read(provider, token):
    """The TokenData of an unexpired token of ours (no database needed)."""
    try:
        data = provider.read(token)
    except tokens.TokenError:
        raise exception.InvalidToken() from None
    if data.expired():
        raise exception.InvalidToken()
    return data


def check(session, data):
    """Validated if the token's user, project and roles still allow it."""
    user = _user_or_none(session, data.user_id)
    if user is None or not user.enabled:
        raise exception.InvalidToken()
    if user.tokens_valid_after is not None and data.issued_at < user.tokens_valid_after:
        raise exception.InvalidToken()
    if db_identity.is_revoked(session, data.audit_id):
        raise exception.InvalidToken()
    project = None
    roles = []
    if data.project_id is not None:
        try:
            project = db_identity.get_project(session, data.project_id)
        except exception.ProjectNotFound:
            raise exception.InvalidToken() from None
        if not project.enabled:
            raise exception.InvalidToken()
        roles = effective_roles(session, user.id, project.id)
        if not roles:
            raise exception.InvalidToken()
    return Validated(data, user, project, roles)


def effective_roles(session, user_id, project_id):
    """The role rows the user holds on the project, with the roles they
    imply, by name."""
    held = {r.name: r for r in db_identity.roles_of(session, user_id, project_id)}
    for name in list(held):
        for implied in IMPLIED_ROLES.get(name, ()):
            if implied not in held:
                row = db_identity.find_role(session, implied)
                if row is not None:
                    held[implied] = row
    return [held[name] for name in sorted(held)]


def revoke(db, validated):
    with db.transaction() as session:
        db_identity.revoke_token(session, validated.data.audit_id, validated.data.expires_at)
    LOG.info("Revoked token %s of user %s", validated.data.audit_id, validated.user.id)
