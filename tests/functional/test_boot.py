"""Booting and deleting servers across three fake computes, over HTTP."""

from tests.fixtures.cloud import flavor_resources

SCHEDULE_EVENT = "conductor_schedule_and_build_instances"
SPAWN_EVENT = "compute_build_and_run_instance"


def _delete_all(api, ids):
    for server_id in ids:
        resp = api.delete("servers/%s" % server_id)
        assert resp.status_code == 204, resp.text
    for server_id in ids:
        api.wait_for_deleted(server_id)


def _check_booted(cloud, api, ids):
    hosts = set()
    for server_id in ids:
        server = api.wait_for_status(server_id, "ACTIVE")
        hosts.add(server["OS-EXT-SRV-ATTR:host"])
    assert hosts == {"compute1", "compute2", "compute3"}

    detail = api.get("servers/detail").json()["servers"]
    by_id = {s["id"]: s for s in detail}
    for server_id in ids:
        server = by_id[server_id]
        assert server["status"] == "ACTIVE"
        assert server["OS-EXT-SRV-ATTR:host"] in hosts
        assert server["id"] in cloud.fake_guests(server["OS-EXT-SRV-ATTR:host"])

    for server_id in ids:
        actions = api.actions(server_id)
        assert [a["action"] for a in actions] == ["create"]
        events = {e["event"]: e["result"] for e in actions[0]["events"]}
        assert events == {SCHEDULE_EVENT: "Success", SPAWN_EVENT: "Success"}, actions


def test_twenty_posts_boot_across_all_hosts(cloud):
    api = cloud.api()
    ids = [api.create_server("vm-%02d" % i)["id"] for i in range(20)]
    assert len(set(ids)) == 20
    _check_booted(cloud, api, ids)
    cloud.check_invariants()
    _delete_all(api, ids)


def test_one_post_with_min_and_max_count(cloud):
    api = cloud.api()
    body = api.create_server("multi", min_count=20, max_count=20,
                             return_reservation_id=True)
    reservation = body["reservation_id"]
    servers = api.get("servers/detail", params={"name": "multi-"}).json()["servers"]
    ids = [s["id"] for s in servers if s["OS-EXT-SRV-ATTR:reservation_id"] == reservation]
    assert len(ids) == 20
    assert sorted(s["name"] for s in servers) == sorted("multi-%d" % i for i in range(1, 21))
    _check_booted(cloud, api, ids)
    cloud.check_invariants()
    _delete_all(api, ids)


def test_delete_frees_the_claim_and_the_guest(cloud):
    api = cloud.api()
    server = api.create_server("short-lived", flavor="2")
    server = api.wait_for_status(server["id"], "ACTIVE")
    host = server["OS-EXT-SRV-ATTR:host"]
    hypervisor = _hypervisor(api, host)
    before = _used(cloud, host)
    assert server["id"] in cloud.fake_guests(host)

    assert api.delete("servers/%s" % server["id"]).status_code == 204
    api.wait_for_deleted(server["id"])

    assert server["id"] not in cloud.fake_guests(host)
    flavor = {"vcpus": 1, "memory_mb": 2048, "root_gb": 20}
    vcpus, memory_mb, disk_gb = flavor_resources(flavor)
    assert _used(cloud, host) == (before[0] - vcpus, before[1] - memory_mb,
                                  before[2] - disk_gb)
    assert hypervisor["status"] == "enabled" and hypervisor["state"] == "up"
    actions = api.actions(server["id"])
    assert [a["action"] for a in actions] == ["delete", "create"]
    assert actions[0]["message"] is None
    assert [(e["event"], e["result"]) for e in actions[0]["events"]] == [
        ("compute_terminate_instance", "Success")]


def _used(cloud, host):
    from vmctl.db import compute_nodes

    with cloud.db().reader() as session:
        node = compute_nodes.get_by_host_node(session, host, host)
        return node.vcpus_used, node.memory_mb_used, node.local_gb_used


def _hypervisor(api, host):
    resp = api.get("os-hypervisors/detail")
    assert resp.status_code == 200, resp.text
    for hypervisor in resp.json()["hypervisors"]:
        if hypervisor["hypervisor_hostname"] == host:
            return hypervisor
    raise AssertionError("no hypervisor %s in %s" % (host, resp.text))


def test_accept_application_json(cloud):
    """OpenStack clients send 'Accept: application/json' on every request."""
    api = cloud.api()
    resp = api.get("servers", headers={"Accept": "application/json"})
    assert resp.status_code == 200, resp.text


def test_console_output_comes_from_the_compute(cloud):
    api = cloud.api()
    server = api.wait_for_status(api.create_server("console")["id"], "ACTIVE")
    path = "servers/%s/action" % server["id"]
    resp = api.post(path, json={"os-getConsoleOutput": {"length": 1}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["output"] == "power state RUNNING\n"
    whole = api.post(path, json={"os-getConsoleOutput": {}}).json()["output"]
    assert server["id"] in whole and whole.count("\n") == 2
    assert api.post(path, json={"os-getConsoleOutput": {"length": "x"}}).status_code == 400
    other = cloud.api(user="eve", project="other")
    assert other.post(path, json={"os-getConsoleOutput": {}}).status_code == 404
