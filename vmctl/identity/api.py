"""Handlers of the identity API under /identity (a Keystone v3 subset).

Same opening as the compute handlers (policy, schema, one call into
vmctl/db/identity.py or vmctl.identity.core), but errors come back in
Keystone's shape ``{"error": {"code", "title", "message"}}`` (the
``keystone_errors`` decorator). The token provider is put in the WSGI
environ by vmctl.api.auth, whatever the auth strategy.
"""

import functools
import logging

from vmctl import exception as vmctl_exception
from vmctl.api import errors
from vmctl.api import request
from vmctl.api import validation
from vmctl.api.request import Reply
from vmctl.db import identity as db_identity
from vmctl.db.identity_models import DEFAULT_DOMAIN_ID
from vmctl.identity import core
from vmctl.identity import exception
from vmctl.identity import passwords
from vmctl.identity import schemas
from vmctl.identity import tokens
from vmctl.identity import views
from vmctl.policies import identity as policies

LOG = logging.getLogger(__name__)

PROVIDER_KEY = "vmctl.identity.provider"
GUARD_KEY = "vmctl.identity.guard"
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 409: "Conflict", 429: "Too Many Requests",
          503: "Service Unavailable"}


def keystone_error(code, message, headers=None):
    return Reply(code, {"error": {"code": code, "title": TITLES.get(code, "Error"),
                                  "message": message}}, headers)


def keystone_errors(handler):
    """Keystone-shaped errors; 404 everywhere when an external Keystone is
    the identity service (``auth_strategy = keystone``)."""
    @functools.wraps(handler)
    def wrapper(api, **params):
        if api.conf.api.auth_strategy == "keystone":
            return keystone_error(404, "The embedded identity service is off: "
                                  "[api] auth_strategy = keystone.")
        try:
            return handler(api, **params)
        except errors.ApiError as exc:
            return keystone_error(exc.code, exc.message)
        except vmctl_exception.VmctlError as exc:
            if exc.code >= 500:
                raise
            return keystone_error(exc.code, exc.message)
        except tokens.KeyRepositoryError as exc:
            LOG.error("Identity service unavailable: %s", exc)
            return keystone_error(503, "The identity service has no token keys.")
    return wrapper


# --- helpers -----------------------------------------------------------------

def provider(api):
    return api.req.environ[PROVIDER_KEY]


def base(api):
    """The public base URL of this API (links, catalog)."""
    return request.public_endpoint(api.conf)


def _hash(api, password):
    return passwords.hash_password(password, api.conf.identity.password_hash_rounds)


def _rows(api, name, view, rows, path=None):
    """A collection of rows, each shown by ``view`` (views.user, ...)."""
    return views.collection(base(api), name, [view(base(api), r) for r in rows], path)


def _flag(api, name):
    value = api.param(name)
    if value is None:
        return None
    return value.lower() in ("true", "1", "yes", "")


# --- versions ----------------------------------------------------------------

@keystone_errors
def versions(api):
    return Reply(300, {"versions": {"values": [views.version(base(api))]}})


@keystone_errors
def show_v3(api):
    return {"version": views.version(base(api))}


# --- tokens ------------------------------------------------------------------

@validation.request_schema(schemas.auth)
@keystone_errors
def issue_token(api):
    guard = api.req.environ[GUARD_KEY]
    source = api.req.environ.get("REMOTE_ADDR", "")
    wait = guard.throttle.retry_after(source)
    if wait:
        LOG.info("Throttled token requests from %s for %d s", source, wait)
        return keystone_error(429, "Too many failed authentications from this "
                              "address: retry later.", {"Retry-After": str(wait)})
    body = schemas.body(api, schemas.auth)
    try:
        token, validated = core.authenticate(api.db, provider(api), body["auth"], guard)
    except exception.Unauthorized:
        guard.throttle.failed(source)
        raise
    with_catalog = api.param("nocatalog") is None
    return Reply(201, views.token(validated, base(api), api.conf.identity.region,
                                  with_catalog), {"X-Subject-Token": token})


def _subject(api, rule):
    subject = api.req.headers.get("X-Subject-Token")
    if not subject:
        raise errors.BadRequest("X-Subject-Token header is required.")
    try:
        validated = core.validate(api.db, provider(api), subject)
    except exception.InvalidToken:
        raise errors.NotFound("Could not find token.") from None
    api.authorize(rule, {"user_id": validated.user.id})
    return subject, validated


@keystone_errors
def validate_token(api):
    subject, validated = _subject(api, policies.VALIDATE_TOKEN)
    with_catalog = api.param("nocatalog") is None
    return Reply(200, views.token(validated, base(api), api.conf.identity.region,
                                  with_catalog), {"X-Subject-Token": subject})


@keystone_errors
def check_token(api):
    subject, _ = _subject(api, policies.VALIDATE_TOKEN)
    return Reply(200, headers={"X-Subject-Token": subject})


@keystone_errors
def revoke_token(api):
    _, validated = _subject(api, policies.REVOKE_TOKEN)
    core.revoke(api.db, validated)
    return Reply(204)


@keystone_errors
def auth_projects(api):
    with api.db.reader() as session:
        rows = db_identity.projects_of(session, api.ctx.user_id)
        return _rows(api, "projects", views.project, rows, "auth/projects")


@keystone_errors
def auth_catalog(api):
    return {"catalog": views.catalog(base(api), api.conf.identity.region),
            "links": {"self": "%s/identity/v3/auth/catalog" % base(api)}}


# --- domains -----------------------------------------------------------------

@keystone_errors
def list_domains(api):
    api.authorize(policies.LIST_DOMAINS)
    name = api.param("name")
    items = [views.domain(base(api))] if name in (None, core.DEFAULT_DOMAIN_NAME) else []
    return views.collection(base(api), "domains", items)


@keystone_errors
def show_domain(api, domain_id):
    api.authorize(policies.GET_DOMAIN)
    if domain_id != DEFAULT_DOMAIN_ID:
        raise exception.DomainNotFound(domain=domain_id)
    return {"domain": views.domain(base(api))}


# --- users -------------------------------------------------------------------

def _check_domain_id(values):
    domain_id = values.pop("domain_id", None)
    if domain_id not in (None, DEFAULT_DOMAIN_ID):
        raise errors.BadRequest("Invalid input for field domain_id: only the "
                                "domain 'default' exists.")


def _user_values(api, session, user):
    values = dict(user)
    _check_domain_id(values)
    if "password" in values:
        password = values.pop("password")
        values["password_hash"] = (_hash(api, password) if password is not None else None)
    if values.get("default_project_id") is not None:
        db_identity.get_project(session, values["default_project_id"])
    return values


@keystone_errors
def list_users(api):
    api.authorize(policies.LIST_USERS)
    with api.db.reader() as session:
        rows = db_identity.list_users(session, name=api.param("name"),
                                      enabled=_flag(api, "enabled"))
        return _rows(api, "users", views.user, rows)


@validation.request_schema(schemas.user_create)
@keystone_errors
def create_user(api):
    api.authorize(policies.CREATE_USER)
    body = schemas.body(api, schemas.user_create)
    with api.db.transaction() as session:
        row = db_identity.create_user(session, _user_values(
            api, session, schemas.known(body["user"], schemas.user_create)))
        result = views.user(base(api), row)
    LOG.info("Created user %s (%s)", row.id, row.name)
    return Reply(201, {"user": result})


@keystone_errors
def show_user(api, user_id):
    api.authorize(policies.GET_USER, {"user_id": user_id})
    with api.db.reader() as session:
        return {"user": views.user(base(api), db_identity.get_user(session, user_id))}


@validation.request_schema(schemas.user_update)
@keystone_errors
def update_user(api, user_id):
    api.authorize(policies.UPDATE_USER, {"user_id": user_id})
    body = schemas.body(api, schemas.user_update)
    with api.db.transaction() as session:
        values = _user_values(api, session, schemas.known(body["user"], schemas.user_update))
        row = db_identity.update_user(session, user_id, values)
        result = views.user(base(api), row)
    LOG.info("Updated user %s (%s)", user_id, ", ".join(sorted(values)))
    return {"user": result}


@keystone_errors
def delete_user(api, user_id):
    api.authorize(policies.DELETE_USER, {"user_id": user_id})
    with api.db.transaction() as session:
        db_identity.delete_user(session, user_id)
    LOG.info("Deleted user %s", user_id)
    return Reply(204)


@validation.request_schema(schemas.password_change)
@keystone_errors
def change_password(api, user_id):
    api.authorize(policies.CHANGE_PASSWORD, {"user_id": user_id})
    body = schemas.body(api, schemas.password_change)["user"]
    with api.db.transaction() as session:
        row = db_identity.get_user(session, user_id)
        if not passwords.check_password(body["original_password"], row.password_hash):
            raise exception.Unauthorized("The original password is not correct.")
        db_identity.update_user(session, user_id, {
            "password_hash": _hash(api, body["password"])})
    LOG.info("User %s changed its password", user_id)
    return Reply(204)


@keystone_errors
def user_projects(api, user_id):
    api.authorize(policies.LIST_USER_PROJECTS, {"user_id": user_id})
    with api.db.reader() as session:
        db_identity.get_user(session, user_id)
        rows = db_identity.projects_of(session, user_id)
        return _rows(api, "projects", views.project, rows, "users/%s/projects" % user_id)


# --- projects ----------------------------------------------------------------

def _project_values(project):
    values = dict(project)
    _check_domain_id(values)
    parent = values.pop("parent_id", None)
    if parent not in (None, DEFAULT_DOMAIN_ID):
        raise errors.BadRequest("Invalid input for field parent_id: projects have no "
                                "parents but the domain 'default'.")
    values.pop("is_domain", None)
    values.pop("tags", None)
    return values


@keystone_errors
def list_projects(api):
    api.authorize(policies.LIST_PROJECTS)
    with api.db.reader() as session:
        rows = db_identity.list_projects(session, name=api.param("name"),
                                         enabled=_flag(api, "enabled"))
        return _rows(api, "projects", views.project, rows)


@validation.request_schema(schemas.project_create)
@keystone_errors
def create_project(api):
    api.authorize(policies.CREATE_PROJECT)
    body = schemas.body(api, schemas.project_create)
    with api.db.transaction() as session:
        row = db_identity.create_project(session, _project_values(
            schemas.known(body["project"], schemas.project_create)))
        result = views.project(base(api), row)
    LOG.info("Created project %s (%s)", row.id, row.name)
    return Reply(201, {"project": result})


@keystone_errors
def show_project(api, project_id):
    api.authorize(policies.GET_PROJECT, {"project_id": project_id})
    with api.db.reader() as session:
        return {"project": views.project(base(api),
                                         db_identity.get_project(session, project_id))}


@validation.request_schema(schemas.project_update)
@keystone_errors
def update_project(api, project_id):
    api.authorize(policies.UPDATE_PROJECT, {"project_id": project_id})
    body = schemas.body(api, schemas.project_update)
    with api.db.transaction() as session:
        row = db_identity.update_project(session, project_id, _project_values(
            schemas.known(body["project"], schemas.project_update)))
        return {"project": views.project(base(api), row)}


@keystone_errors
def delete_project(api, project_id):
    api.authorize(policies.DELETE_PROJECT, {"project_id": project_id})
    with api.db.transaction() as session:
        db_identity.delete_project(session, project_id)
    LOG.info("Deleted project %s", project_id)
    return Reply(204)


# --- roles -------------------------------------------------------------------

@keystone_errors
def list_roles(api):
    api.authorize(policies.LIST_ROLES)
    with api.db.reader() as session:
        rows = db_identity.list_roles(session, name=api.param("name"))
        return _rows(api, "roles", views.role, rows)


@keystone_errors
def show_role(api, role_id):
    api.authorize(policies.GET_ROLE)
    with api.db.reader() as session:
        return {"role": views.role(base(api), db_identity.get_role(session, role_id))}


@validation.request_schema(schemas.role_create)
@keystone_errors
def create_role(api):
    api.authorize(policies.CREATE_ROLE)
    body = schemas.body(api, schemas.role_create)
    with api.db.transaction() as session:
        row = db_identity.create_role(session, schemas.known(body["role"],
                                                             schemas.role_create))
        return Reply(201, {"role": views.role(base(api), row)})


@keystone_errors
def delete_role(api, role_id):
    api.authorize(policies.DELETE_ROLE)
    with api.db.transaction() as session:
        db_identity.delete_role(session, role_id)
    return Reply(204)


# --- role assignments --------------------------------------------------------

@keystone_errors
def list_grants(api, project_id, user_id):
    api.authorize(policies.LIST_GRANTS, {"project_id": project_id, "user_id": user_id})
    with api.db.reader() as session:
        db_identity.get_project(session, project_id)
        db_identity.get_user(session, user_id)
        rows = db_identity.roles_of(session, user_id, project_id)
        return _rows(api, "roles", views.role, rows,
                     "projects/%s/users/%s/roles" % (project_id, user_id))


@keystone_errors
def check_grant(api, project_id, user_id, role_id):
    api.authorize(policies.CHECK_GRANT, {"project_id": project_id, "user_id": user_id})
    with api.db.reader() as session:
        db_identity.get_assignment(session, user_id, project_id, role_id)
    return Reply(204)


def _change_grant(api, rule, change, message, project_id, user_id, role_id):
    """Grant or revoke a role: ``change`` is the db call, ``message`` the
    log line (role, user, project)."""
    api.authorize(rule, {"project_id": project_id, "user_id": user_id})
    with api.db.transaction() as session:
        change(session, user_id, project_id, role_id)
    LOG.info(message, role_id, user_id, project_id)
    return Reply(204)


@keystone_errors
def create_grant(api, project_id, user_id, role_id):
    return _change_grant(api, policies.CREATE_GRANT, db_identity.add_assignment,
                         "Granted role %s to user %s on project %s",
                         project_id, user_id, role_id)


@keystone_errors
def revoke_grant(api, project_id, user_id, role_id):
    return _change_grant(api, policies.REVOKE_GRANT, db_identity.remove_assignment,
                         "Revoked role %s of user %s on project %s",
                         project_id, user_id, role_id)


ASSIGNMENT_FILTERS = {"user.id": "user_id", "scope.project.id": "project_id",
                      "role.id": "role_id"}
UNSUPPORTED_FILTERS = ("group.id", "scope.domain.id", "scope.system")


@keystone_errors
def list_role_assignments(api):
    api.authorize(policies.LIST_ROLE_ASSIGNMENTS)
    for name in UNSUPPORTED_FILTERS:
        if api.param(name) is not None:
            return views.collection(base(api), "role_assignments", [])
    filters = {column: api.param(name) for name, column in ASSIGNMENT_FILTERS.items()}
    with api.db.reader() as session:
        rows = db_identity.list_assignments(session, **filters)
        names = _names(session, rows) if api.param("include_names") is not None else None
        items = [views.assignment(base(api), r, names) for r in rows]
    return views.collection(base(api), "role_assignments", items)


def _names(session, rows):
    names = {}
    for row in rows:
        names[row.user_id] = db_identity.get_user(session, row.user_id).name
        names[row.project_id] = db_identity.get_project(session, row.project_id).name
        names[row.role_id] = db_identity.get_role(session, row.role_id).name
    return names
