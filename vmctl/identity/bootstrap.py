"""Operator tasks of the identity service, run by vmctl-manage.

``bootstrap`` is idempotent: the roles admin, member, reader and service, the admin
user and project and the admin role assignment are created when missing and
left alone when present (the user's password is set again when it no longer
matches, which invalidates the user's tokens).
"""

from vmctl.db import identity as db_identity
from vmctl.identity import passwords

ROLES = ("admin", "member", "reader", "service")


def ensure_roles(session):
    """{name: role row} of the standard roles, created if missing."""
    roles = {}
    for name in ROLES:
        row = db_identity.find_role(session, name)
        if row is None:
            row = db_identity.create_role(session, {"name": name})
        roles[name] = row
    return roles


def ensure_project(session, name, description=None):
    row = db_identity.find_project(session, name)
    if row is None:
        row = db_identity.create_project(session, {"name": name, "description": description})
    return row


def ensure_user(session, name, password, default_project_id=None,
                rounds=passwords.ROUNDS):
    """(user row, what changed: 'created' | 'password reset' | None)."""
    row = db_identity.find_user(session, name)
    if row is None:
        row = db_identity.create_user(session, {
            "name": name, "password_hash": passwords.hash_password(password, rounds),
            "default_project_id": default_project_id})
        return row, "created"
    changed = None
    values = {}
    if not passwords.check_password(password, row.password_hash):
        values["password_hash"] = passwords.hash_password(password, rounds)
        changed = "password reset"
    if not row.enabled:
        values["enabled"] = True
        changed = changed or "enabled"
    if values:
        db_identity.update_user(session, row.id, values)
    return row, changed


def grant(session, user, project, role_name):
    """Give ``role_name`` to user on project (admin implies member and
    reader, member implies reader: see vmctl.identity.core.IMPLIED_ROLES)."""
    role = (ensure_roles(session).get(role_name)
            or db_identity.find_role(session, role_name)
            or db_identity.create_role(session, {"name": role_name}))
    db_identity.add_assignment(session, user.id, project.id, role.id)


def bootstrap(db, username, password, project_name, rounds=passwords.ROUNDS, role="admin"):
    """Lines describing what was done (or found) for the first admin (or,
    with ``role="service"``, for a service user)."""
    with db.transaction() as session:
        ensure_roles(session)
        project = ensure_project(session, project_name, "Bootstrap project")
        user, changed = ensure_user(session, username, password, project.id, rounds)
        grant(session, user, project, role)
        implied = " (implies member, reader)" if role == "admin" else ""
        return ["roles: %s" % ", ".join(ROLES),
                "project %s: %s" % (project.name, project.id),
                "user %s: %s%s" % (user.name, user.id, " (%s)" % changed if changed else ""),
                "role %s%s of %s on %s" % (role, implied, user.name, project.name)]
