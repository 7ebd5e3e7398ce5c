"""A compute that fails its builds: reschedules, and the retry limit.

compute1 fails every spawn ([fake] fail_builds) and has the most free RAM,
so the scheduler (spreading by free RAM) tries it first.
"""

import pytest

SPAWN_EVENT = "compute_build_and_run_instance"
SCHEDULE_EVENT = "conductor_schedule_and_build_instances"


@pytest.fixture(scope="module")
def failing_cloud(cloud_factory):
    return cloud_factory("resched", computes=3, compute_conf={
        "compute1": {"fake": {"fail_builds": True, "memory_mb": 65536}}})


@pytest.fixture(autouse=True)
def _empty(failing_cloud):
    failing_cloud.delete_all_servers()


def _spawn_events(api, server_id):
    actions = api.actions(server_id)
    assert [a["action"] for a in actions] == ["create"]
    return [e for e in actions[0]["events"] if e["event"] == SPAWN_EVENT]


def test_failed_build_is_rescheduled_to_a_good_host(failing_cloud):
    api = failing_cloud.api()
    server = api.create_server("resched")
    server = api.wait_for_status(server["id"], "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] in ("compute2", "compute3")
    assert server["id"] not in failing_cloud.fake_guests("compute1")

    events = _spawn_events(api, server["id"])
    assert [(e["result"], e["host"]) for e in events] == [
        ("Error", "compute1"), ("Success", server["OS-EXT-SRV-ATTR:host"])], events
    assert "configured to fail builds" in events[0]["details"]
    assert events[0]["finish_time"] <= events[1]["start_time"]


def test_every_host_failing_ends_in_error_after_the_retries(failing_cloud):
    for host in ("compute2", "compute3"):
        failing_cloud.set_compute_conf(host, "fake", "fail_builds", True)
        failing_cloud.restart(host)
    try:
        api = failing_cloud.api()
        server = api.create_server("doomed")
        server = api.wait_for_status(server["id"], "ERROR")
        fault = server["fault"]
        assert "Exceeded maximum number of retries (3)" in fault["message"], fault
        assert server["OS-EXT-SRV-ATTR:host"] is None
        events = _spawn_events(api, server["id"])
        assert sorted(e["host"] for e in events) == ["compute1", "compute2", "compute3"]
        assert {e["result"] for e in events} == {"Error"}
        for host in ("compute1", "compute2", "compute3"):
            assert server["id"] not in failing_cloud.fake_guests(host)
        with failing_cloud.db().reader() as session:
            from vmctl.db import claims

            assert claims.for_consumer(session, server["id"]) == []
    finally:
        for host in ("compute2", "compute3"):
            failing_cloud.set_compute_conf(host, "fake", "fail_builds", False)
            failing_cloud.restart(host)
