"""Power actions: legal sequences reach the hypervisor, illegal ones are 409.

Each step is checked twice: the API status, and the power state the fake
hypervisor's file records (what the host actually runs).
"""

import time

import pytest

from vmctl import instance_states as states

SLOW_ZONE = "slow"


@pytest.fixture(scope="module")
def actions_cloud(cloud_factory):
    # "slow1" takes 3 s per spawn, in its own zone: a server can be caught
    # mid-build there.
    return cloud_factory("actions", computes=["compute1", "compute2", "slow1"], compute_conf={
        "slow1": {"fake": {"spawn_seconds": 3, "memory_mb": 4096},
                  "compute": {"availability_zone": SLOW_ZONE}}})


@pytest.fixture
def server(actions_cloud):
    api = actions_cloud.api()
    created = api.create_server("actor")
    yield api.wait_for_status(created["id"], "ACTIVE")
    actions_cloud.delete_all_servers()


def _power(cloud, server):
    guests = cloud.fake_guests(server["OS-EXT-SRV-ATTR:host"])
    return guests[server["id"]]["power_state"]


def _act(api, server_id, body, expect_status):
    resp = api.action(server_id, body)
    assert resp.status_code == 202, resp.text
    return api.wait_for_status(server_id, expect_status)


LEGAL = [
    ({"os-stop": None}, "SHUTOFF", states.SHUTDOWN),
    ({"os-start": None}, "ACTIVE", states.RUNNING),
    ({"pause": None}, "PAUSED", states.POWER_PAUSED),
    ({"unpause": None}, "ACTIVE", states.RUNNING),
    ({"suspend": None}, "SUSPENDED", states.POWER_SUSPENDED),
    ({"resume": None}, "ACTIVE", states.RUNNING),
    ({"reboot": {"type": "SOFT"}}, "ACTIVE", states.RUNNING),
    ({"reboot": {"type": "HARD"}}, "ACTIVE", states.RUNNING),
    ({"os-stop": None}, "SHUTOFF", states.SHUTDOWN),
    ({"reboot": {"type": "HARD"}}, "ACTIVE", states.RUNNING),
    ({"pause": None}, "PAUSED", states.POWER_PAUSED),
    ({"suspend": None}, "SUSPENDED", states.POWER_SUSPENDED),
    ({"resume": None}, "ACTIVE", states.RUNNING),
]


def test_legal_sequence_reaches_the_hypervisor(actions_cloud, server):
    api = actions_cloud.api()
    assert _power(actions_cloud, server) == states.RUNNING
    for body, status, power in LEGAL:
        after = _act(api, server["id"], body, status)
        assert after["OS-EXT-STS:power_state"] == power, (body, after)
        assert _power(actions_cloud, server) == power, body
    actions = api.actions(server["id"])
    assert len(actions) == 1 + len(LEGAL)
    for action in actions:
        assert action["message"] is None, action
        assert [e["result"] for e in action["events"]] in (["Success"], ["Success", "Success"])


ILLEGAL = [
    # (how to get there, the refused action, the state named in the message)
    ([{"os-stop": None}], {"pause": None}, "vm_state stopped"),
    ([{"os-stop": None}], {"suspend": None}, "vm_state stopped"),
    ([{"os-stop": None}], {"reboot": {"type": "SOFT"}}, "vm_state stopped"),
    ([], {"os-start": None}, "vm_state active"),
    ([], {"resume": None}, "vm_state active"),
    ([], {"unpause": None}, "vm_state active"),
    ([{"pause": None}], {"pause": None}, "vm_state paused"),
    ([{"pause": None}], {"os-stop": None}, "vm_state paused"),
    ([{"suspend": None}], {"unpause": None}, "vm_state suspended"),
]


@pytest.mark.parametrize("setup,refused,where", ILLEGAL,
                         ids=["%s-then-%s" % ("-".join(next(iter(s)) for s in setup) or "active",
                                              next(iter(r))) for setup, r, _w in ILLEGAL])
def test_illegal_transition_is_a_409(actions_cloud, server, setup, refused, where):
    api = actions_cloud.api()
    status = {"os-stop": "SHUTOFF", "pause": "PAUSED", "suspend": "SUSPENDED"}
    for body in setup:
        _act(api, server["id"], body, status[next(iter(body))])
    before = api.server(server["id"])
    power = _power(actions_cloud, server)
    resp = api.action(server["id"], refused)
    assert resp.status_code == 409, resp.text
    message = resp.json()["conflictingRequest"]["message"]
    assert where in message, message
    after = api.server(server["id"])
    assert (after["status"], after["OS-EXT-STS:task_state"]) == (before["status"], None)
    assert _power(actions_cloud, server) == power
    assert len(api.actions(server["id"])) == 1 + len(setup)


def _wait_spawning(api, server_id, timeout=10):
    deadline = time.monotonic() + timeout
    while api.server(server_id)["OS-EXT-STS:task_state"] != states.SPAWNING:
        assert time.monotonic() < deadline, api.server(server_id)
        time.sleep(0.05)


def _check_create_finished(cloud, server_id):
    cloud.wait_settled()
    problems = [p for p in cloud.invariant_violations() if server_id in p]
    assert problems == []


def test_delete_while_deleting_is_a_409(actions_cloud):
    api = actions_cloud.api()
    created = api.create_server("slow", availability_zone=SLOW_ZONE)
    _wait_spawning(api, created["id"])
    # Deleted mid-spawn on slow1: the delete waits for the build to end.
    assert api.delete("servers/%s" % created["id"]).status_code == 204
    second = api.delete("servers/%s" % created["id"])
    assert second.status_code == 409, second.text
    assert "deleting" in second.json()["conflictingRequest"]["message"]
    api.wait_for_deleted(created["id"])
    assert created["id"] not in actions_cloud.fake_guests("slow1")
    _check_create_finished(actions_cloud, created["id"])


def test_actions_while_deleting_are_409(actions_cloud):
    api = actions_cloud.api()
    created = api.create_server("slow2", availability_zone=SLOW_ZONE)
    _wait_spawning(api, created["id"])
    assert api.delete("servers/%s" % created["id"]).status_code == 204
    for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"pause": None}):
        resp = api.action(created["id"], body)
        assert resp.status_code == 409, resp.text
    api.wait_for_deleted(created["id"])
    _check_create_finished(actions_cloud, created["id"])


def test_unknown_action_is_a_400(actions_cloud, server):
    api = actions_cloud.api()
    for body in ({"os-explode": None}, {"reboot": {"type": "GENTLE"}},
                 {"os-stop": None, "os-start": None}):
        resp = api.action(server["id"], body)
        assert resp.status_code == 400, (body, resp.text)
