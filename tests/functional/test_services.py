"""Services: up/down from heartbeats, SIGTERM drains, native threads only."""

import signal
import subprocess
import sys
import time

import pytest

HOSTS = ("compute1", "compute2", "compute3")


@pytest.fixture(scope="module")
def svc_cloud(cloud_factory):
    return cloud_factory("services", computes=list(HOSTS))


def _services(api):
    resp = api.get("os-services")
    assert resp.status_code == 200, resp.text
    return {(s["binary"], s["host"]): s for s in resp.json()["services"]}


def _wait_state(api, key, state, timeout):
    deadline = time.monotonic() + timeout
    while True:
        service = _services(api)[key]
        if service["state"] == state:
            return time.monotonic()
        assert time.monotonic() < deadline, "%s still %s after %ss" % (key, service, timeout)
        time.sleep(0.25)


def test_every_service_is_listed_up(svc_cloud):
    services = _services(svc_cloud.api())
    expected = {("vmctl-api", "controller"), ("vmctl-conductor", "controller"),
                ("vmctl-scheduler", "controller")}
    expected |= {("vmctl-compute", h) for h in HOSTS}
    assert set(services) == expected
    for service in services.values():
        assert (service["state"], service["status"]) == ("up", "enabled"), service


def test_stopped_compute_goes_down_and_is_avoided(svc_cloud):
    api = svc_cloud.api()
    key = ("vmctl-compute", "compute3")
    stopped_at = time.monotonic()
    assert svc_cloud.stop_compute("compute3") == 0
    try:
        down_at = _wait_state(api, key, "down", svc_cloud.service_down_time + 10)
        # Not before its last heartbeat is service_down_time old.
        assert down_at - stopped_at >= svc_cloud.service_down_time - 2
        hypervisors = {h["hypervisor_hostname"]: h for h in
                       api.get("os-hypervisors").json()["hypervisors"]}
        assert hypervisors["compute3"]["state"] == "down"

        ids = [api.create_server("avoid-%d" % i)["id"] for i in range(6)]
        hosts = {api.wait_for_status(i, "ACTIVE")["OS-EXT-SRV-ATTR:host"] for i in ids}
        assert hosts == {"compute1", "compute2"}
    finally:
        svc_cloud.start_compute("compute3")
    _wait_state(api, key, "up", 10)
    more = [api.create_server("back-%d" % i)["id"] for i in range(6)]
    hosts = {api.wait_for_status(i, "ACTIVE")["OS-EXT-SRV-ATTR:host"] for i in more}
    assert "compute3" in hosts
    svc_cloud.delete_all_servers()


@pytest.mark.parametrize("name", [
    "api",
    "conductor",
    "scheduler",
    "compute2",
])
def test_sigterm_exits_0_within_the_graceful_timeout(svc_cloud, name):
    api = svc_cloud.api()
    server = api.create_server("drain-%s" % name)
    started = time.monotonic()
    code = svc_cloud.stop_process(name, signal.SIGTERM, timeout=15)
    elapsed = time.monotonic() - started
    assert code == 0, "%s exited %s; log tail:\n%s" % (
        name, code, open(svc_cloud.log_path(name)).read()[-3000:])
    assert elapsed < 10 + 2, "%s took %.1fs to stop" % (name, elapsed)
    svc_cloud.restart(name)
    try:
        # Nothing accepted before the stop was lost.
        api.wait_for_status(server["id"], "ACTIVE", timeout=20)
    finally:
        svc_cloud.delete_all_servers()


GREENLET_SO = "greenlet/_greenlet"


def _loads_greenlet(pid):
    with open("/proc/%d/maps" % pid) as f:
        return GREENLET_SO in f.read()


def test_daemons_never_load_eventlet(svc_cloud):
    # Control: a process that imports eventlet maps greenlet's C extension.
    probe = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c",
         "import eventlet, sys; print('ok', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if probe.stdout.readline().strip() != "ok":
            pytest.skip("eventlet is not importable here: the check would prove nothing")
        assert _loads_greenlet(probe.pid), "greenlet not visible in /proc/<pid>/maps"
    finally:
        probe.communicate("")
    pids = svc_cloud.pids()
    assert set(pids) == {"api", "conductor", "scheduler", *HOSTS}
    loaded = [name for name, pid in pids.items() if _loads_greenlet(pid)]
    assert loaded == []
