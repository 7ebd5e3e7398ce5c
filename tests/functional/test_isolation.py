"""Projects are isolated; admin-only resources refuse members."""

import pytest


@pytest.fixture(scope="module")
def alice_server(cloud):
    api = cloud.api("alice", "project-a")
    created = api.create_server("alice-vm")
    yield api.wait_for_status(created["id"], "ACTIVE")
    cloud.delete_all_servers()


def test_owner_sees_its_server(cloud, alice_server):
    alice = cloud.api("alice", "project-a")
    ids = [s["id"] for s in alice.get("servers").json()["servers"]]
    assert ids == [alice_server["id"]]
    assert alice.get("servers/%s" % alice_server["id"]).status_code == 200
    # A colleague of the same project sees it too.
    carol = cloud.api("carol", "project-a")
    assert carol.get("servers/%s" % alice_server["id"]).status_code == 200


def test_other_project_cannot_see_or_touch_it(cloud, alice_server):
    bob = cloud.api("bob", "project-b")
    sid = alice_server["id"]
    assert bob.get("servers").json()["servers"] == []
    assert bob.get("servers/detail").json()["servers"] == []
    assert bob.get("servers", params={"project_id": "project-a"}).json()["servers"] == []
    for resp in (bob.get("servers/%s" % sid),
                 bob.get("servers/%s/os-instance-actions" % sid),
                 bob.action(sid, {"os-stop": None}),
                 bob.action(sid, {"reboot": {"type": "HARD"}}),
                 bob.delete("servers/%s" % sid)):
        assert resp.status_code == 404, (resp.request.method, resp.request.url, resp.text)
    server = cloud.api().server(sid)
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    assert sid in cloud.fake_guests(server["OS-EXT-SRV-ATTR:host"])


def test_admin_sees_every_project(cloud, alice_server):
    admin = cloud.api()
    everything = admin.get("servers", params={"all_tenants": "1"}).json()["servers"]
    assert alice_server["id"] in [s["id"] for s in everything]
    own = admin.get("servers").json()["servers"]
    assert alice_server["id"] not in [s["id"] for s in own]


@pytest.mark.parametrize("method,path,body", [
    ("GET", "os-services", None),
    ("GET", "os-hypervisors", None),
    ("GET", "os-hypervisors/detail", None),
    ("POST", "flavors", {"flavor": {"name": "mine", "ram": 64, "vcpus": 1, "disk": 0}}),
    ("GET", "servers?all_tenants=1", None),
    ("GET", "servers/detail?all_tenants=true", None),
])
def test_member_gets_403_on_admin_resources(cloud, method, path, body):
    bob = cloud.api("bob", "project-b")
    resp = bob.request(method, path, json=body)
    assert resp.status_code == 403, resp.text
    assert "forbidden" in resp.json()
    if method == "POST":
        assert cloud.api().get("flavors").json()["flavors"] and all(
            f["name"] != "mine" for f in cloud.api().get("flavors").json()["flavors"])
