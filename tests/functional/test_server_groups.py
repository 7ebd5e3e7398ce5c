"""Server groups end to end: the scheduler's filters and weighers, the
compute's late check against races, membership, and moves.

Three fake computes; every test starts from an empty cloud.
"""

import collections
import concurrent.futures
import time

import pytest

from tests.functional.test_cold_migration import _resize_and_wait

NOAUTH = {"api": {"auth_strategy": "noauth"}}
VERSION = "2.64"


@pytest.fixture(scope="module")
def groups_cloud(cloud_factory):
    return cloud_factory("groups", computes=3, conf_overrides=NOAUTH)


@pytest.fixture(autouse=True)
def _empty(groups_cloud):
    groups_cloud.delete_all_servers()


def _group(api, policy, **rules):
    body = {"name": "g-" + policy, "policy": policy}
    if rules:
        body["rules"] = rules
    resp = api.post("os-server-groups", json={"server_group": body})
    assert resp.status_code == 200, resp.text
    return resp.json()["server_group"]["id"]


def _boot(api, group, count=1, name="vm"):
    body = {"server": {"name": name, "flavorRef": "1", "imageRef": "img",
                       "min_count": count, "max_count": count},
            "os:scheduler_hints": {"group": group}}
    resp = api.post("servers", json=body)
    assert resp.status_code == 202, resp.text
    return _members(api, group)


def _members(api, group):
    return api.get("os-server-groups/" + group).json()["server_group"]["members"]


def _hosts(api, server_ids, status="ACTIVE", timeout=60):
    return [api.wait_for_status(s, status, timeout=timeout).get("OS-EXT-SRV-ATTR:host")
            for s in server_ids]


def test_anti_affinity_spreads_and_refuses_a_fourth(groups_cloud):
    api = groups_cloud.api(microversion=VERSION)
    group = _group(api, "anti-affinity")
    members = _boot(api, group, count=3)
    assert sorted(_hosts(api, members)) == ["compute1", "compute2", "compute3"]

    fourth = set(_boot(api, group, name="extra")) - set(members)
    (server,) = [api.wait_for_status(s, "ERROR", timeout=60) for s in fourth]
    assert "No valid host" in server["fault"]["message"]
    assert "ServerGroupAntiAffinityFilter" in server["fault"]["message"]


def test_affinity_packs(groups_cloud):
    api = groups_cloud.api(microversion=VERSION)
    group = _group(api, "affinity")
    first = _boot(api, group, name="first")
    (host,) = _hosts(api, first)
    later = _boot(api, group, count=2, name="later")
    assert set(_hosts(api, later)) == {host}


def test_soft_anti_affinity_spreads_then_still_boots(groups_cloud):
    api = groups_cloud.api(microversion=VERSION)
    group = _group(api, "soft-anti-affinity")
    members = _boot(api, group, count=4)
    counts = collections.Counter(_hosts(api, members))
    assert sorted(counts.values()) == [1, 1, 2]


def test_soft_affinity_packs_against_the_spreading_weighers(groups_cloud):
    api = groups_cloud.api(microversion=VERSION)
    group = _group(api, "soft-affinity")
    members = _boot(api, group, count=3)
    assert len(set(_hosts(api, members))) == 1


def test_max_server_per_host(groups_cloud):
    api = groups_cloud.api(microversion=VERSION)
    group = _group(api, "anti-affinity", max_server_per_host=2)
    members = _boot(api, group, count=6)
    counts = collections.Counter(_hosts(api, members))
    assert sorted(counts.values()) == [2, 2, 2]
    extra = set(_boot(api, group, name="extra")) - set(members)
    (server,) = [api.wait_for_status(s, "ERROR", timeout=60) for s in extra]
    assert "No valid host" in server["fault"]["message"]


def test_delete_leaves_the_group_and_frees_its_host(groups_cloud):
    api = groups_cloud.api(microversion=VERSION)
    group = _group(api, "anti-affinity")
    members = _boot(api, group, count=3)
    hosts = dict(zip(members, _hosts(api, members)))
    gone = members[0]
    assert api.delete("servers/" + gone).status_code == 204
    api.wait_for_deleted(gone)
    assert gone not in _members(api, group)
    (new,) = set(_boot(api, group, name="again")) - set(members)
    assert _hosts(api, [new]) == [hosts[gone]]


def test_cold_migration_keeps_anti_affinity(groups_cloud):
    api = groups_cloud.api(microversion=VERSION)
    group = _group(api, "anti-affinity")
    members = _boot(api, group, count=2)
    used = set(_hosts(api, members))
    (free,) = {"compute1", "compute2", "compute3"} - used
    moved, _migration = _resize_and_wait(api, members[0], {"migrate": None})
    assert moved["OS-EXT-SRV-ATTR:host"] == free
    assert api.action(members[0], {"confirmResize": None}).status_code == 204
    api.wait_for_status(members[0], "ACTIVE")


def test_live_migration_keeps_anti_affinity(groups_cloud):
    api = groups_cloud.api(microversion="2.84")
    group = _group(api, "anti-affinity")
    members = _boot(api, group, count=2)
    hosts = dict(zip(members, _hosts(api, members)))
    (free,) = {"compute1", "compute2", "compute3"} - set(hosts.values())
    # Named onto the other member's host: the scheduler refuses, it stays.
    resp = _live_migrate(api, members[0], hosts[members[1]])
    assert resp.status_code == 202, resp.text
    assert _wait_live(api, members[0])["status"] in ("failed", "error")
    assert _hosts(api, [members[0]]) == [hosts[members[0]]]
    details = [e.get("details") or "" for a in api.actions(members[0])
               if a["action"] == "live-migration" for e in a["events"]]
    assert any("ServerGroupAntiAffinityFilter" in d for d in details), details
    # Without a host it goes to the one free host.
    assert _live_migrate(api, members[0], None).status_code == 202
    assert _wait_live(api, members[0])["status"] == "completed"
    assert _hosts(api, [members[0]]) == [free]


def _live_migrate(api, server_id, host):
    return api.post("servers/%s/action" % server_id,
                    json={"os-migrateLive": {"host": host, "block_migration": "auto"}})


def _wait_live(api, server_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = api.get("os-migrations?instance_uuid=%s&migration_type=live-migration"
                        % server_id).json()["migrations"]
        if found and found[0]["status"] in ("completed", "failed", "cancelled", "error"):
            api.wait_for_status(server_id, "ACTIVE")
            return found[0]
        time.sleep(0.1)
    raise AssertionError("live migration of %s did not end" % server_id)


@pytest.fixture(scope="module")
def racy_cloud(cloud_factory):
    """Two computes and a scheduler blind to server groups that packs: every
    build of a group lands on one host unless the late check catches it."""
    overrides = dict(NOAUTH, scheduler={
        "enabled_filters": ["ComputeFilter", "RamFilter", "CoreFilter", "DiskFilter"],
        "ram_weight_multiplier": -1.0, "cpu_weight_multiplier": -1.0,
        "host_state_cache_seconds": 0.5})
    return cloud_factory("racy", computes=2, conf_overrides=overrides)


def test_late_check_catches_a_race_and_reschedules(racy_cloud):
    api = racy_cloud.api(microversion=VERSION)
    group = _group(api, "anti-affinity")
    body = {"server": {"name": "racer", "flavorRef": "1", "imageRef": "img"},
            "os:scheduler_hints": {"group": group}}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: api.post("servers", json=body), range(2)))
    assert [r.status_code for r in replies] == [202, 202]
    members = _members(api, group)
    assert sorted(_hosts(api, members)) == ["compute1", "compute2"]
    # The later member was refused by the compute, then rescheduled.
    late = members[1]
    events = [e for a in racy_cloud.api(microversion="2.84").actions(late) for e in a["events"]
              if e["event"] == "compute_build_and_run_instance"]
    results = [(e["result"], e.get("details") or "") for e in events]
    assert results[0][0] == "Error" and "Anti-affinity" in results[0][1], results
    assert results[-1][0] == "Success"
