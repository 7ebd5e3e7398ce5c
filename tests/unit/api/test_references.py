"""References resolved as the caller (vmctl/api/references.py) and the one
image visibility rule (vmctl/images/visibility.py), in-process."""

import itertools

import pytest

from tests.fixtures.conf import make_conf
from tests.unit.api.test_app import env  # noqa: F401  (fixture)
from vmctl import context
from vmctl import policies
from vmctl.api import app
from vmctl.db import flavors as db_flavors
from vmctl.db import images as db_images
from vmctl.images import visibility
from vmctl.images.exception import ImageNotFound
from vmctl.policies import images as image_policies

VISIBILITIES = ("public", "community", "shared", "private")
CALLERS = ("p1", "p2", None)  # None: a cloud administrator


def _seed_images(db):
    with db.transaction() as session:
        for owner, vis in itertools.product(("p1", "p2"), VISIBILITIES):
            db_images.create(session, {"id": "%s-%s" % (owner, vis), "status": "active",
                                       "visibility": vis, "owner": owner, "properties": {
                                           "owner_is": owner}})


def test_python_and_sql_visibility_agree(env):  # noqa: F811
    """vmctl/db/images.py filters in SQL what visibility.visible says."""
    _, _, db = env
    _seed_images(db)
    with db.reader() as session:
        for owner, vis, caller in itertools.product(("p1", "p2"), VISIBILITIES, CALLERS):
            image_id = "%s-%s" % (owner, vis)
            try:
                db_images.get(session, image_id, project_id=caller)
                by_sql = True
            except ImageNotFound:
                by_sql = False
            by_sql_props = image_id in db_images.properties_of(session, [image_id], caller)
            expected = visibility.visible(owner, vis, caller)
            assert by_sql == by_sql_props == expected, (owner, vis, caller)


@pytest.mark.parametrize("owner,vis,caller,seen", [
    ("p1", "private", "p1", True),
    ("p1", "shared", "p2", False),   # no image members yet
    ("p1", "private", "p2", False),
    ("p1", "community", "p2", True),
    ("p1", "public", "p2", True),
    ("p1", "private", None, True),   # cloud admin
])
def test_visible(owner, vis, caller, seen):
    assert visibility.visible(owner, vis, caller) is seen


def _boot(call, image, flavor="1", token="bob:p1"):
    return call("POST", "/v2.1/servers", {"server": {"name": "vm", "flavorRef": flavor,
                                                     "imageRef": image}}, token=token)


def test_create_resolves_the_image_as_the_caller(env):  # noqa: F811
    call, conductor, db = env
    _seed_images(db)
    resp, body = _boot(call, "p2-private")
    assert resp.status_int == 400
    assert body["badRequest"]["message"] == \
        "Can not find requested image p2-private (imageRef)."
    for image in ("p1-private", "p2-community", "p2-public"):
        assert _boot(call, image)[0].status_int == 202, image
    assert _boot(call, "p2-private", token="admin:admin")[0].status_int == 202
    assert len(conductor.calls) == 4


@pytest.mark.parametrize("prop", ["kernel_id", "ramdisk_id"])
def test_create_resolves_boot_files_as_the_caller(env, prop):  # noqa: F811
    call, conductor, db = env
    _seed_images(db)
    with db.transaction() as session:
        db_images.create(session, {"id": "direct", "status": "active", "visibility": "private",
                                   "owner": "p1", "properties": {prop: "p2-private"}})
    resp, body = _boot(call, "direct")
    assert resp.status_int == 400 and prop in body["badRequest"]["message"]
    assert conductor.calls == []


def test_create_refuses_an_image_that_is_not_active(env):  # noqa: F811
    call, _, db = env
    with db.transaction() as session:
        db_images.create(session, {"id": "queued", "status": "queued", "visibility": "public",
                                   "owner": "p2", "properties": {}})
    resp, body = _boot(call, "queued")
    assert resp.status_int == 400
    assert body["badRequest"]["message"] == "Image queued is not active (imageRef)."


def test_a_private_flavor_is_as_unknown_to_a_member(env):  # noqa: F811
    call, _, db = env
    with db.transaction() as session:
        db_flavors.create(session, {"flavorid": "priv", "name": "priv", "vcpus": 1,
                                    "memory_mb": 64, "root_gb": 1, "is_public": False})
    resp, body = _boot(call, "img", flavor="priv")
    assert (resp.status_int, body["badRequest"]["message"]) == (
        400, "Flavor priv could not be found.")
    assert _boot(call, "img", flavor="priv", token="admin:admin")[0].status_int == 202
    resp, body = call("GET", "/v2.1/flavors?marker=priv")
    assert (resp.status_int, body["badRequest"]["message"]) == (400, "marker [priv] not found")
    assert call("GET", "/v2.1/flavors/priv/os-extra_specs")[0].status_int == 404
    assert call("GET", "/v2.1/flavors?marker=priv", token="admin:admin")[0].status_int == 200


# --- cloud admin is the admin role on the admin project (issue 21, medium 8) ---

@pytest.mark.parametrize("identity,expected", [
    ({"project_id": "uuid-1", "project_name": "admin"}, True),
    ({"project_id": "uuid-2", "project_name": "demo"}, False),
    ({"project_id": "admin"}, True),                      # no name: the id
    ({"project_id": "p", "project_name": "admin", "is_admin_project": False}, False),
    ({"project_id": "p", "project_name": "demo", "is_admin_project": True}, True),
])
def test_is_admin_project(identity, expected):
    conf = make_conf()
    assert app.is_admin_project(identity, conf) is expected


def test_an_empty_admin_project_makes_every_project_one():
    conf = make_conf()
    conf.set_override("admin_project", "", group="identity")
    assert app.is_admin_project({"project_id": "p", "project_name": "demo"}, conf) is True


@pytest.mark.parametrize("roles,admin_project,cloud_admin", [
    (["admin", "member", "reader"], True, True),
    (["admin", "member", "reader"], False, False),   # admin of its own project only
    (["member", "reader"], True, False),
    (["service"], False, False),
])
def test_context_is_admin_needs_the_admin_project(roles, admin_project, cloud_admin):
    enforcer = policies.make_enforcer(make_conf())
    ctx = context.RequestContext(user_id="u", project_id="p", roles=roles,
                                 is_admin_project=admin_project, overwrite=False)
    assert enforcer.authorize("context_is_admin", {"project_id": "p"}, ctx,
                              do_raise=False) is cloud_admin
    # The service role reads every image by id, and nothing else of an admin.
    reads_any = enforcer.authorize(image_policies.READ_ANY, {"project_id": "p"}, ctx,
                                   do_raise=False)
    assert reads_any is (cloud_admin or "service" in roles)
