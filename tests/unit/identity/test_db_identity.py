"""vmctl.db.identity: deleting a user, project or role takes the role
assignments naming it along; listing filters on what is given."""

import pytest

from vmctl import exception
from vmctl.db import api as db_api
from vmctl.db import identity as db_identity
from vmctl.db import models


@pytest.fixture
def session(tmp_path):
    db = db_api.Database("sqlite:///%s" % (tmp_path / "identity.sqlite"))
    models.Base.metadata.create_all(db.engine)
    try:
        with db.transaction() as session:
            yield session
    finally:
        db.dispose()


def _grants(session):
    """Two users, each with the role on the project."""
    project = db_identity.create_project(session, {"name": "p"})
    role = db_identity.create_role(session, {"name": "r"})
    users = [db_identity.create_user(session, {"name": n}) for n in ("a", "b")]
    for user in users:
        db_identity.add_assignment(session, user.id, project.id, role.id)
    return users, project, role


def test_list_assignments_filters_on_what_is_given(session):
    (a, b), project, role = _grants(session)
    assert len(db_identity.list_assignments(session)) == 2
    assert [x.user_id for x in db_identity.list_assignments(session, user_id=b.id)] == [b.id]
    assert len(db_identity.list_assignments(session, project_id=project.id,
                                            role_id=role.id)) == 2


@pytest.mark.parametrize("kind", ["user", "project", "role"])
def test_delete_takes_the_assignments_along(session, kind):
    (a, b), project, role = _grants(session)
    row = {"user": a, "project": project, "role": role}[kind]
    getattr(db_identity, "delete_" + kind)(session, row.id)
    left = db_identity.list_assignments(session)
    assert all(getattr(x, kind + "_id") != row.id for x in left)
    assert len(left) == (1 if kind == "user" else 0)
    with pytest.raises(exception.NotFound):
        getattr(db_identity, "get_" + kind)(session, row.id)
