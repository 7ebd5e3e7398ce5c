"""Capacity: small hypervisors fill up, "No valid host", delete frees room.

Two computes with 2048 MiB each and m1.tiny (512 MiB): four servers fit on
each host, eight in the cloud.
"""

import pytest

PER_HOST = 4
HOSTS = ("compute1", "compute2")


@pytest.fixture(scope="module")
def small_cloud(cloud_factory):
    small = {"fake": {"memory_mb": 2048}}
    return cloud_factory("small", computes=list(HOSTS),
                         compute_conf={h: small for h in HOSTS})


@pytest.fixture(autouse=True)
def _empty(small_cloud):
    small_cloud.delete_all_servers()


def _boot(api, name):
    server = api.create_server(name, flavor="1")
    return api.wait_for_status(server["id"], ("ACTIVE", "ERROR"))


def _memory_used(api):
    # os-hypervisors drops usage from 2.88: read it at 2.87.
    resp = api.get("os-hypervisors/detail",
                   headers={"OpenStack-API-Version": "compute 2.87"})
    assert resp.status_code == 200, resp.text
    return {h["hypervisor_hostname"]: h["memory_mb_used"] for h in resp.json()["hypervisors"]}


def _claims_of(cloud, uuid):
    from vmctl.db import claims

    with cloud.db().reader() as session:
        return claims.for_consumer(session, uuid)


def test_fill_then_no_valid_host_then_delete_frees_capacity(small_cloud):
    api = small_cloud.api()
    active = [_boot(api, "fill-%d" % i) for i in range(PER_HOST * len(HOSTS))]
    assert [s["status"] for s in active] == ["ACTIVE"] * len(active)
    assert _memory_used(api) == {h: PER_HOST * 512 for h in HOSTS}

    overflow = _boot(api, "overflow")
    assert overflow["status"] == "ERROR"
    assert "No valid host" in overflow["fault"]["message"]
    assert "RamFilter rejected 2" in overflow["fault"]["message"], overflow["fault"]
    assert overflow["OS-EXT-SRV-ATTR:host"] is None
    assert _claims_of(small_cloud, overflow["id"]) == []

    freed = active[:3]
    for server in freed:
        assert api.delete("servers/%s" % server["id"]).status_code == 204
    for server in freed:
        api.wait_for_deleted(server["id"])
    used = _memory_used(api)
    assert sum(used.values()) == (PER_HOST * len(HOSTS) - 3) * 512

    again = [_boot(api, "again-%d" % i) for i in range(3)]
    assert [s["status"] for s in again] == ["ACTIVE"] * 3
    assert _memory_used(api) == {h: PER_HOST * 512 for h in HOSTS}

    for server in active[3:] + again + [overflow]:
        assert api.delete("servers/%s" % server["id"]).status_code == 204
    for server in active[3:] + again + [overflow]:
        api.wait_for_deleted(server["id"])
    assert _memory_used(api) == {h: 0 for h in HOSTS}


def test_no_valid_host_says_why(small_cloud):
    api = small_cloud.api()
    # m1.tiny fits; m1.medium (4096 MiB) fits on no host, even an empty one.
    server = _boot(api, "fits")
    assert server["status"] == "ACTIVE"
    big = api.create_server("much-too-big", flavor="3")
    big = api.wait_for_status(big["id"], "ERROR")
    fault = big["fault"]
    assert fault["code"] == 500
    assert "No valid host" in fault["message"]
    assert "RamFilter rejected 2" in fault["message"], fault
    assert _claims_of(small_cloud, big["id"]) == []
    actions = api.actions(big["id"])
    events = {e["event"]: e["result"] for e in actions[0]["events"]}
    assert events == {"conductor_schedule_and_build_instances": "Error"}
    assert actions[0]["message"] == "Error"
    for one in (server, big):
        assert api.delete("servers/%s" % one["id"]).status_code == 204
        api.wait_for_deleted(one["id"])
