"""Database access of the identity service: users, projects, roles, role
assignments and revoked tokens. Functions take a session; ids are new
uuid4 hex strings, as Keystone's.
"""

import uuid

import sqlalchemy as sa

from vmctl.db import models
from vmctl.db.identity_models import DEFAULT_DOMAIN_ID
from vmctl.db.identity_models import IdentityProject as PROJECT
from vmctl.db.identity_models import IdentityRevokedToken as REVOKED
from vmctl.db.identity_models import IdentityRole as ROLE
from vmctl.db.identity_models import IdentityRoleAssignment as ASSIGNMENT
from vmctl.db.identity_models import IdentityUser as USER
from vmctl.identity import exception

_KINDS = {USER: ("User", exception.UserNotFound, "user"),
          PROJECT: ("Project", exception.ProjectNotFound, "project"),
          ROLE: ("Role", exception.RoleNotFound, "role")}


def new_id():
    return uuid.uuid4().hex


# --- generic -----------------------------------------------------------------

def _get(session, model, row_id):
    row = session.get(model, row_id)
    if row is None:
        _, not_found, field = _KINDS[model]
        raise not_found(**{field: row_id})
    return row


def _by_name(session, model, name, domain_id=DEFAULT_DOMAIN_ID):
    query = sa.select(model).filter_by(name=name)
    if model is not ROLE:
        query = query.filter_by(domain_id=domain_id)
    return session.scalars(query).first()


def _create(session, model, values):
    values = dict(values)
    values.setdefault("id", new_id())
    if _by_name(session, model, values["name"],
                values.get("domain_id", DEFAULT_DOMAIN_ID)) is not None:
        raise exception.IdentityConflict(kind=_KINDS[model][0], name=values["name"])
    if session.get(model, values["id"]) is not None:
        raise exception.IdentityConflict(kind=_KINDS[model][0], name=values["id"])
    row = model(**values)
    session.add(row)
    _flush(session, _KINDS[model][0], values["name"])
    return row


def _flush(session, kind, name):
    """Flush; a unique constraint lost to a concurrent request is a 409."""
    try:
        session.flush()
    except sa.exc.IntegrityError:
        raise exception.IdentityConflict(kind=kind, name=name) from None


def _update(session, model, row_id, values):
    row = _get(session, model, row_id)
    name = values.get("name")
    if name is not None and name != row.name:
        other = _by_name(session, model, name, getattr(row, "domain_id", None))
        if other is not None:
            raise exception.IdentityConflict(kind=_KINDS[model][0], name=name)
    for key, value in values.items():
        setattr(row, key, value)
    _flush(session, _KINDS[model][0], row.name)
    return row


def _delete(session, model, row_id):
    """Delete a user, project or role with the role assignments naming it."""
    row = _get(session, model, row_id)
    column = _KINDS[model][2] + "_id"
    session.execute(sa.delete(ASSIGNMENT).filter_by(**{column: row_id}))
    session.delete(row)


def _list(session, model, order_by=None, **filters):
    """Rows whose columns equal the filters that are not None, by name
    unless ``order_by`` says otherwise."""
    query = sa.select(model).order_by(*(order_by or (model.name, model.id)))
    for key, value in filters.items():
        if value is not None:
            query = query.filter(getattr(model, key) == value)
    return list(session.scalars(query))


# --- users -------------------------------------------------------------------

def create_user(session, values):
    return _create(session, USER, values)


def get_user(session, user_id):
    return _get(session, USER, user_id)


def find_user(session, name, domain_id=DEFAULT_DOMAIN_ID):
    return _by_name(session, USER, name, domain_id)


def list_users(session, name=None, enabled=None):
    return _list(session, USER, name=name, enabled=enabled)


def update_user(session, user_id, values):
    """Update a user; disabling it or changing its password (values carry
    ``password_hash``) invalidates every token it holds."""
    row = get_user(session, user_id)
    revoke = "password_hash" in values or (values.get("enabled") is False and row.enabled)
    if revoke:
        values = dict(values, tokens_valid_after=models.utcnow())
    return _update(session, USER, user_id, values)


def delete_user(session, user_id):
    _delete(session, USER, user_id)


# --- projects ----------------------------------------------------------------

def create_project(session, values):
    return _create(session, PROJECT, values)


def get_project(session, project_id):
    return _get(session, PROJECT, project_id)


def find_project(session, name, domain_id=DEFAULT_DOMAIN_ID):
    return _by_name(session, PROJECT, name, domain_id)


def list_projects(session, name=None, enabled=None):
    return _list(session, PROJECT, name=name, enabled=enabled)


def update_project(session, project_id, values):
    return _update(session, PROJECT, project_id, values)


def delete_project(session, project_id):
    _delete(session, PROJECT, project_id)


# --- roles -------------------------------------------------------------------

def create_role(session, values):
    return _create(session, ROLE, values)


def get_role(session, role_id):
    return _get(session, ROLE, role_id)


def find_role(session, name):
    return _by_name(session, ROLE, name)


def list_roles(session, name=None):
    return _list(session, ROLE, name=name)


def delete_role(session, role_id):
    _delete(session, ROLE, role_id)


# --- role assignments --------------------------------------------------------

def add_assignment(session, user_id, project_id, role_id):
    """Grant ``role_id`` to the user on the project; granting twice is fine."""
    get_user(session, user_id)
    get_project(session, project_id)
    get_role(session, role_id)
    key = {"user_id": user_id, "project_id": project_id, "role_id": role_id}
    if session.get(ASSIGNMENT, key) is None:
        try:
            with session.begin_nested():
                session.add(ASSIGNMENT(**key))
        except sa.exc.IntegrityError:
            pass  # granted by a concurrent request: the grant holds either way


def get_assignment(session, user_id, project_id, role_id):
    key = {"user_id": user_id, "project_id": project_id, "role_id": role_id}
    row = session.get(ASSIGNMENT, key)
    if row is None:
        raise exception.AssignmentNotFound(role=role_id, user=user_id, project=project_id)
    return row


def remove_assignment(session, user_id, project_id, role_id):
    session.delete(get_assignment(session, user_id, project_id, role_id))


def list_assignments(session, user_id=None, project_id=None, role_id=None):
    return _list(session, ASSIGNMENT,
                 (ASSIGNMENT.user_id, ASSIGNMENT.project_id, ASSIGNMENT.role_id),
                 user_id=user_id, project_id=project_id, role_id=role_id)


def roles_of(session, user_id, project_id):
    """The roles (rows) the user holds on the project, by name."""
    query = (sa.select(ROLE).join(ASSIGNMENT, ASSIGNMENT.role_id == ROLE.id)
             .filter(ASSIGNMENT.user_id == user_id, ASSIGNMENT.project_id == project_id)
             .order_by(ROLE.name))
    return list(session.scalars(query))


def projects_of(session, user_id):
    """The projects the user holds any role on."""
    query = (sa.select(PROJECT).join(ASSIGNMENT, ASSIGNMENT.project_id == PROJECT.id)
             .filter(ASSIGNMENT.user_id == user_id).distinct().order_by(PROJECT.name))
    return list(session.scalars(query))


# --- revoked tokens ----------------------------------------------------------

def revoke_token(session, audit_id, expires_at):
    """Remember a revoked token until it expires; forget expired ones."""
    session.execute(sa.delete(REVOKED).where(REVOKED.expires_at < models.utcnow()))
    if session.get(REVOKED, audit_id) is None:
        session.add(REVOKED(audit_id=audit_id, expires_at=expires_at))
        session.flush()


def is_revoked(session, audit_id):
    return session.get(REVOKED, audit_id) is not None


# --- failed authentications (lockout) ---------------------------------------------

def record_auth_failure(session, user_id, now, restart=False):
    """One more failed password authentication of the user, at ``now``
    (the first of a new series when ``restart``)."""
    count = 1 if restart else USER.failed_auth_count + 1
    session.execute(sa.update(USER).where(USER.id == user_id).values(
        failed_auth_count=count, failed_auth_at=now))


def reset_auth_failures(session, user_id):
    session.execute(sa.update(USER).where(USER.id == user_id, USER.failed_auth_count != 0)
                    .values(failed_auth_count=0, failed_auth_at=None))
