"""Issue 21, "a reference is checked as the caller": every id a request body
names is resolved with the caller's visibility at the API, before the 202,
and an id the caller may not see is answered exactly as one that does not
exist. Each test is the regression test of one hole found by the probe, on a
real cloud (every daemon a process, RabbitMQ, SQLite, fake computes).

Personas (noauth tokens ``user:project``): alice, member of project A; bob,
member of project B; admin, the cloud administrator. The role tests (medium
8) use real tokens: ann, member of refs-a; boss, admin of refs-b; svc, the
service role on project service (as devstack's vmctl-compute).
"""

import uuid

import pytest

VERSION = "2.98"  # the first microversion that embeds image properties
UNKNOWN = "00000000-0000-4000-8000-%012d" % 21


@pytest.fixture(scope="module")
def people(cloud):
    yield {"alice": cloud.api("alice", "project-a", microversion=VERSION),
           "bob": cloud.api("bob", "project-b", microversion=VERSION),
           "admin": cloud.api(microversion=VERSION)}
    cloud.delete_all_servers()


def _image_url(cloud, suffix=""):
    return cloud.api_url[:-len("/v2.1")] + "/image/v2/images" + suffix


def _image(cloud, client, name, visibility="private", data=b"disk bytes", **properties):
    """An image of ``client``'s project through /image/v2, active if ``data``."""
    body = {"name": name, "disk_format": "raw", "container_format": "bare",
            "visibility": visibility}
    body.update(properties)
    resp = client.post(_image_url(cloud), json=body)
    assert resp.status_code == 201, resp.text
    image = resp.json()
    if data is not None:
        resp = client.put(_image_url(cloud, "/%s/file" % image["id"]), data=data,
                          headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 204, resp.text
    return image


def _boot(client, image, flavor="1", name="ref-vm", **extra):
    body = {"server": {"name": name, "flavorRef": flavor, "imageRef": image}}
    body.update(extra)
    return client.post("servers", json=body)


def _refusal(resp, *ids):
    """The 400's message with the ids the request named taken out: the same
    text for another project's id and for an unknown one means the answer
    tells nothing of the other project."""
    assert resp.status_code == 400, (resp.status_code, resp.text)
    message = resp.json()["badRequest"]["message"]
    for named in ids:
        message = message.replace(named, "<id>")
    return message


def _server_names(client):
    return {s["name"] for s in client.get("servers").json()["servers"]}


def test_another_projects_private_image_cannot_be_booted(cloud, people):
    """High 1: bob booted project A's private image and got its bytes."""
    alice, bob, admin = people["alice"], people["bob"], people["admin"]
    private = _image(cloud, alice, "a-private")
    refused = _boot(bob, private["id"], name="b-steals")
    unknown = _boot(bob, UNKNOWN, name="b-unknown")
    assert _refusal(refused, private["id"]) == _refusal(unknown, UNKNOWN)
    assert "Can not find requested image" in refused.text and "imageRef" in refused.text
    # Given as a URL, as clients may: the same answer.
    as_url = _boot(bob, "http://x/images/%s" % private["id"], name="b-url")
    assert _refusal(as_url, private["id"]) == _refusal(unknown, UNKNOWN)
    assert not {"b-steals", "b-unknown", "b-url"} & _server_names(bob)
    # Its owner and the cloud admin may boot it.
    for client, name in ((alice, "a-own"), (admin, "admin-any")):
        resp = _boot(client, private["id"], name=name)
        assert resp.status_code == 202, resp.text
        client.wait_for_status(resp.json()["server"]["id"], "ACTIVE")


def test_an_image_that_does_not_exist_or_is_not_active_is_refused(cloud, people):
    """A server booted from an id no image has was accepted (fake computes
    never fetch the image): refused at the API now, as an image with no data."""
    alice = people["alice"]
    assert "Can not find requested image" in _boot(alice, str(uuid.uuid4())).text
    queued = _image(cloud, alice, "a-queued", data=None)
    resp = _boot(alice, queued["id"], name="a-queued")
    assert resp.status_code == 400 and "is not active" in resp.text, resp.text


@pytest.mark.parametrize("prop", ["kernel_id", "ramdisk_id"])
def test_boot_files_of_an_image_are_checked_as_the_caller(cloud, people, prop):
    """High 1 (second half): an image bob owns names A's private image as its
    kernel or ramdisk, which the compute then fetched with its own token."""
    alice, bob = people["alice"], people["bob"]
    a_file = _image(cloud, alice, "a-%s" % prop)
    b_image = _image(cloud, bob, "b-direct-boot", **{prop: a_file["id"]})
    resp = _boot(bob, b_image["id"], name="b-boot-files")
    assert resp.status_code == 400, resp.text
    assert prop in resp.text and "Can not find requested image" in resp.text
    # Its own (or a public) boot file is fine.
    b_file = _image(cloud, bob, "b-%s" % prop)
    b_ok = _image(cloud, bob, "b-direct-boot-ok", **{prop: b_file["id"]})
    resp = _boot(bob, b_ok["id"], name="b-boot-files-ok")
    assert resp.status_code == 202, resp.text
    bob.wait_for_status(resp.json()["server"]["id"], "ACTIVE")


def test_server_show_never_reads_another_projects_image(cloud, people):
    """High 2: the embedded image properties (2.98+) were read straight from
    the database, whoever owned the image. Bob boots A's community image; A
    makes it private; bob's server shows no property of it any more."""
    alice, bob, admin = people["alice"], people["bob"], people["admin"]
    image = _image(cloud, alice, "a-community", visibility="community",
                   a_secret="project A only")
    resp = _boot(bob, image["id"], name="b-from-community")
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    bob.wait_for_status(server_id, "ACTIVE")
    assert bob.server(server_id)["image"]["properties"] == {"a_secret": "project A only"}
    resp = alice.request("PATCH", _image_url(cloud, "/%s" % image["id"]), json=[
        {"op": "replace", "path": "/visibility", "value": "private"}],
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert resp.status_code == 200, resp.text
    for resp in (bob.get("servers/%s" % server_id), bob.get("servers/detail")):
        assert resp.status_code == 200 and "project A only" not in resp.text, resp.text
    assert bob.server(server_id)["image"]["properties"] == {}
    assert alice.get("servers/%s" % server_id).status_code == 404
    # The cloud admin sees every image, so also its properties.
    assert admin.server(server_id)["image"]["properties"] == {"a_secret": "project A only"}


@pytest.fixture(scope="module")
def private_flavor(people):
    resp = people["admin"].post("flavors", json={"flavor": {
        "name": "ref-private", "ram": 64, "vcpus": 1, "disk": 2,
        "os-flavor-access:is_public": False}})
    assert resp.status_code == 200, resp.text
    flavor = resp.json()["flavor"]
    resp = people["admin"].post("flavors/%s/os-extra_specs" % flavor["id"],
                                json={"extra_specs": {"ref:secret": "private"}})
    assert resp.status_code == 200, resp.text
    return flavor


def test_a_private_flavor_cannot_be_booted_by_id(people, private_flavor):
    """Medium 7: a non-admin booted with an is_public=false flavor that
    GET /flavors/{id} hid from it."""
    bob, admin = people["bob"], people["admin"]
    fid = private_flavor["id"]
    refused = _boot(bob, "img", flavor=fid, name="b-private-flavor")
    unknown = _boot(bob, "img", flavor="no-such-flavor", name="b-no-flavor")
    assert _refusal(refused, fid) == _refusal(unknown, "no-such-flavor")
    assert bob.get("flavors/%s" % fid).status_code == 404
    assert bob.get("flavors/%s/os-extra_specs" % fid).status_code == 404
    assert bob.get("flavors/%s/os-extra_specs/ref:secret" % fid).status_code == 404
    resp = _boot(admin, "img", flavor=fid, name="admin-private-flavor")
    assert resp.status_code == 202, resp.text
    admin.wait_for_status(resp.json()["server"]["id"], "ACTIVE")


def test_a_private_flavor_cannot_be_resized_to(people, private_flavor):
    """Medium 7: resize took the same private flavor by id."""
    bob = people["bob"]
    server = bob.create_server("b-resizer")
    bob.wait_for_status(server["id"], "ACTIVE")
    fid = private_flavor["id"]
    refused = bob.action(server["id"], {"resize": {"flavorRef": fid}})
    unknown = bob.action(server["id"], {"resize": {"flavorRef": "no-such-flavor"}})
    assert _refusal(refused, fid) == _refusal(unknown, "no-such-flavor")
    after = bob.server(server["id"])
    assert (after["status"], after["flavor"]["original_name"]) == ("ACTIVE", "m1.tiny")


def test_a_private_flavor_marker_is_no_existence_oracle(people, private_flavor):
    """Medium 7: GET /flavors?marker=<private id> paged on from it, while an
    unknown marker was a 400."""
    bob, admin = people["bob"], people["admin"]
    fid = private_flavor["id"]
    for path in ("flavors", "flavors/detail"):
        private = bob.get(path, params={"marker": fid})
        unknown = bob.get(path, params={"marker": "no-such-flavor"})
        assert _refusal(private, fid) == _refusal(unknown, "no-such-flavor")
    assert admin.get("flavors", params={"marker": fid, "is_public": "none"}).status_code == 200


def test_a_server_group_hint_must_be_the_callers(people):
    """A group of another project named in scheduler hints is as unknown."""
    alice, bob = people["alice"], people["bob"]
    resp = alice.post("os-server-groups", json={"server_group": {
        "name": "a-group", "policy": "anti-affinity"}})
    assert resp.status_code == 200, resp.text
    group = resp.json()["server_group"]["id"]
    refused = _boot(bob, "img", name="b-in-a-group", **{"os:scheduler_hints": {"group": group}})
    unknown = _boot(bob, "img", name="b-no-group", **{"os:scheduler_hints": {"group": UNKNOWN}})
    assert _refusal(refused, group) == _refusal(unknown, UNKNOWN)
    members = alice.get("os-server-groups/%s" % group).json()["server_group"]["members"]
    assert members == []


# --- medium 8: cloud admin is the admin role on the admin project ---------------

@pytest.fixture(scope="module")
def identity_cloud(cloud_factory):
    cloud = cloud_factory("refs-roles", computes=1, auth="vmctl")
    cloud.add_user("ann", "refs-a", roles=["member"])
    cloud.add_user("boss", "refs-b", roles=["admin"])     # admin of project B only
    cloud.add_user("svc", "service", roles=["service"])   # as devstack's vmctl-compute
    return cloud


def test_admin_of_another_project_is_not_cloud_admin(identity_cloud):
    """Medium 8: the admin role on any project was cloud admin, identity
    included. Now only on ``[identity] admin_project``."""
    cloud = identity_cloud
    ann, boss, admin = cloud.api_as("ann", "refs-a"), cloud.api_as("boss", "refs-b"), \
        cloud.api_as()
    image = _image(cloud, ann, "ann-private")
    server = ann.create_server("ann-vm")
    ann.wait_for_status(server["id"], "ACTIVE")
    for path in ("os-services", "os-hypervisors", "servers?all_tenants=1",
                 cloud.identity_url + "/users", cloud.identity_url + "/projects"):
        assert boss.get(path).status_code == 403, path
        assert admin.get(path).status_code == 200, path
    assert boss.get("servers/%s" % server["id"]).status_code == 404
    assert boss.get(_image_url(cloud, "/%s" % image["id"])).status_code == 404
    assert _boot(boss, image["id"], name="boss-steals").status_code == 400
    # Within its own project it is a member (admin implies member).
    resp = _boot(boss, "img", name="boss-own")
    assert resp.status_code == 202, resp.text
    boss.wait_for_status(resp.json()["server"]["id"], "ACTIVE")


def test_the_service_role_reads_images_and_nothing_else(identity_cloud):
    """Medium 8: the computes' user held admin (a compute host's config file
    was a cloud admin credential). The service role fetches any image by
    id, which the computes need, and is refused everything else."""
    cloud = identity_cloud
    ann, svc = cloud.api_as("ann", "refs-a"), cloud.api_as("svc", "service")
    image = _image(cloud, ann, "ann-for-compute", data=b"guest disk")
    assert svc.get(_image_url(cloud, "/%s" % image["id"])).status_code == 200
    data = svc.get(_image_url(cloud, "/%s/file" % image["id"]))
    assert (data.status_code, data.content) == (200, b"guest disk")
    for path in ("servers", "os-services", "servers?all_tenants=1",
                 cloud.identity_url + "/users", _image_url(cloud)):
        assert svc.get(path).status_code == 403, path
    assert svc.request("DELETE", _image_url(cloud, "/%s" % image["id"])).status_code in (
        403, 404)
    assert _boot(svc, image["id"], name="svc-boot").status_code == 403
