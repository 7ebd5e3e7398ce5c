"""Restarts in the middle of a burst of boots: nothing accepted is lost.

Every server the API accepted (202) must end ACTIVE, or ERROR with a fault
(invariant 4) -- whatever daemon was restarted while it was being built.
"""

import signal
import threading
import time

import pytest

BURST = 24


@pytest.fixture(scope="module")
def restart_cloud(cloud_factory):
    # Each spawn takes a moment, so restarts land on builds in flight.
    slow = {"fake": {"spawn_seconds": 0.5}}
    return cloud_factory("restarts", computes=3,
                         compute_conf={h: slow for h in ("compute1", "compute2", "compute3")},
                         conf_overrides={"conductor": {"stalled_task_seconds": 5}})


def _burst(api, accepted, errors):
    for i in range(BURST):
        try:
            accepted.append(api.create_server("burst-%02d" % i)["id"])
        except Exception as exc:  # a refused request (5xx) is visible: fine
            errors.append(str(exc))
        time.sleep(0.1)


def _settle_all(api, ids, timeout):
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for server_id in list(pending):
            server = api.server(server_id)
            if server["status"] in ("ACTIVE", "ERROR") and not server["OS-EXT-STS:task_state"]:
                pending.discard(server_id)
        time.sleep(0.5)
    return {i: api.server(i) for i in ids}, pending


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_restart_during_a_burst_loses_nothing(restart_cloud, sig):
    """SIGTERM drains; SIGKILL loses the messages in flight, which the
    conductors' healing finishes (stalled_task_seconds)."""
    victims = ("conductor", "compute2")
    api = restart_cloud.api()
    accepted, refused = [], []
    sender = threading.Thread(target=_burst, args=(api, accepted, refused))
    sender.start()
    time.sleep(0.8)
    for name in victims:
        restart_cloud.restart(name, sig=sig)
    sender.join()
    assert accepted, refused

    try:
        servers, pending = _settle_all(api, accepted, timeout=40)
        stuck = {i: (servers[i]["status"], servers[i]["OS-EXT-STS:task_state"])
                 for i in pending}
        assert not stuck, "accepted servers never settled: %s" % stuck
        for server in servers.values():
            if server["status"] == "ERROR":
                assert server.get("fault", {}).get("message"), server
        restart_cloud.wait_settled()
        restart_cloud.check_invariants()
    finally:
        restart_cloud.delete_all_servers()
