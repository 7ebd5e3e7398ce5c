"""kvm fixtures: one lab (two namespaced libvirt hosts) and one vmctl cloud
with a libvirt compute on each, shared by the whole session.

The tests boot the tiny test guest (guest/) through the API and judge it by
what it prints on its serial console, read back through the console output
API. After every test the cloud is settled and the invariants are checked
(KvmCloud: libvirt's domains instead of the fake hypervisors' files, plus
the instance folders); a failing test gets the consoles, faults and log
tails appended to its report.

Every test here is marked ``kvm``. They never skip by themselves: a machine
that cannot run the lab fails them. Deselect with ``-m "not kvm"`` or
``VMCTL_TEST_SKIP_KVM=1`` (reported as skipped).
"""

import os
import time

import pytest

from tests.fixtures import kvm

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP_ENV = "VMCTL_TEST_SKIP_KVM"

FLAVOR = {"name": "kvm.tiny", "vcpus": 1, "ram": 128, "disk": 1}
CONSOLE_LINES = 20000        # more than a test's guest ever prints

# Bounds of the waits (TCG on 2 cores; init runs 3-17 s after start).
BUILD_TIMEOUT = 120
ACTION_TIMEOUT = 120
HEARTBEAT_TIMEOUT = 90
DELETE_TIMEOUT = 90


def pytest_collection_modifyitems(config, items):
    skip = os.environ.get(SKIP_ENV) == "1"
    for item in items:
        if not str(item.path).startswith(HERE + os.sep):
            continue
        item.add_marker(pytest.mark.kvm)
        if skip:
            item.add_marker(pytest.mark.skip(reason="%s=1" % SKIP_ENV))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    env = item.funcargs.get("kvm_env") if hasattr(item, "funcargs") else None
    if env is None:
        return
    try:
        text = env.cloud.diagnostics(env.servers_of(item.nodeid))
    except Exception as exc:  # the report matters more than the diagnostics
        text = "(diagnostics failed: %r)" % exc
    report.sections.append(("kvm diagnostics", text))


# --- the lab and the cloud ------------------------------------------------------------

@pytest.fixture(scope="session")
def guest():
    """The test guest's files (guest/build.sh, cached between runs)."""
    kvm.check_installed()
    return kvm.build_guest()


@pytest.fixture(scope="session")
def lab(guest, tmp_path_factory):
    """Two libvirt hosts with a private VMCTL_LAB_PREFIX, down at the end."""
    reaped = kvm.reap_stale_labs()
    if reaped:
        print("took down the labs of dead test sessions: %s" % ", ".join(reaped))
    caps = os.path.join(os.path.dirname(kvm.guest_dir()), "libvirt-caps")
    lab = kvm.Lab(tmp_path_factory.mktemp("kvmlab"), caps_cache=caps)
    lab.up()
    yield lab
    problem = lab.down()
    if problem:
        print("lab down failed: %s" % problem)


class KvmEnv:
    """The session's cloud, its test images and flavor, and helpers."""

    def __init__(self, cloud, lab, images, flavor):
        self.cloud = cloud
        self.lab = lab
        self.images = images
        self.flavor = flavor
        self.api = cloud.api()
        self._servers = {}          # test nodeid -> server ids it created
        self.current_test = None

    @property
    def image_id(self):
        return self.images["disk"]["id"]

    def servers_of(self, nodeid):
        return self._servers.get(nodeid, [])

    def cleanup(self, nodeid):
        """Delete the servers a test created and left (when it failed)."""
        left = [s for s in self._servers.pop(nodeid, [])
                if self.api.get("servers/%s" % s).status_code != 404]
        if left:
            self.delete(left)

    # --- servers -----------------------------------------------------------------
    def boot(self, name, host=None, image=None, wait=True, **extra):
        """POST /servers (on lab host ``host`` if given); the server once ACTIVE."""
        if host:
            extra["availability_zone"] = "az-%s" % host
        server = self.api.create_server(name, flavor=self.flavor["id"],
                                        image=image or self.image_id, **extra)
        self._servers.setdefault(self.current_test, []).append(server["id"])
        if not wait:
            return server
        server = self.api.wait_for_status(server["id"], "ACTIVE", timeout=BUILD_TIMEOUT)
        if host:
            assert server["OS-EXT-SRV-ATTR:host"] == host, server
        return server

    def act(self, server_id, body, status, timeout=ACTION_TIMEOUT):
        resp = self.api.action(server_id, body)
        assert resp.status_code == 202, (body, resp.status_code, resp.text)
        return self.api.wait_for_status(server_id, status, timeout=timeout)

    def delete(self, server_ids, timeout=DELETE_TIMEOUT):
        for server_id in server_ids:
            resp = self.api.delete("servers/%s" % server_id)
            assert resp.status_code in (204, 404), resp.text
        for server_id in server_ids:
            self.api.wait_for_deleted(server_id, timeout=timeout)

    # --- the guest's side ----------------------------------------------------------
    def console(self, server_id, length=CONSOLE_LINES):
        """What the guest printed (os-getConsoleOutput), parsed."""
        resp = self.api.action(server_id, {"os-getConsoleOutput": {"length": length}})
        assert resp.status_code == 200, ("console output of %s" % server_id,
                                         resp.status_code, resp.text)
        return kvm.Console(resp.json()["output"])

    def wait_console(self, server_id, check, what, timeout=HEARTBEAT_TIMEOUT):
        """Poll the console until ``check(console)`` is true; that console."""
        deadline = time.monotonic() + timeout
        while True:
            console = self.console(server_id)
            if check(console):
                return console
            if time.monotonic() > deadline:
                raise AssertionError(
                    "server %s: no %s within %ss; console: %s; last lines:\n%s" % (
                        server_id, what, timeout, console.summary(),
                        "\n".join(console.text.splitlines()[-12:])))
            time.sleep(0.5)

    def wait_heartbeat(self, server_id, after_seq=-1, boot=None, timeout=HEARTBEAT_TIMEOUT):
        """Wait for a heartbeat newer than ``after_seq`` (in boot ``boot`` if given)."""
        def beating(console):
            return ((boot is None or console.boot == boot) and console.seq > after_seq)
        what = "heartbeat after seq %s%s" % (after_seq, "" if boot is None else
                                             " in boot %s" % boot)
        console = self.wait_console(server_id, beating, what, timeout)
        assert not console.corrupt, console.corrupt
        return console

    def host_of(self, server):
        return server["OS-EXT-SRV-ATTR:host"]


@pytest.fixture(scope="session")
def kvm_env(lab, guest, tmp_path_factory):
    # max_attempts = the number of hosts: a build failing everywhere ends
    # with the last host's reason as its fault (a third attempt would find
    # no host left and say only "No valid host was found").
    cloud = kvm.KvmCloud(tmp_path_factory.mktemp("kvmcloud"), lab,
                         conf_overrides={"scheduler": {"max_attempts": len(lab.names())}})
    cloud.start()
    try:
        flavor = cloud.create_flavor(**FLAVOR)
        images = cloud.upload_guest(guest, kvm.GUEST_CMDLINE)
        env = KvmEnv(cloud, lab, images, flavor)
    except BaseException:
        cloud.stop()
        raise
    yield env
    cloud.stop()


@pytest.fixture(autouse=True)
def _kvm_settled(request):
    """After each test that used the cloud: settle, check the invariants."""
    if "kvm_env" not in request.fixturenames:
        yield
        return
    env = request.getfixturevalue("kvm_env")
    env.current_test = request.node.nodeid
    yield
    env.current_test = None
    reported = env.__dict__.setdefault("_reported", set())
    try:
        env.cloud.wait_settled(timeout=ACTION_TIMEOUT)
        new = [p for p in env.cloud.settled_violations() if p not in reported]
    except Exception as exc:
        new = [str(exc)]
    reported.update(new)
    diagnostics = env.cloud.diagnostics(env.servers_of(request.node.nodeid)) if new else ""
    # What a failed test left behind must not fail the next ones.
    try:
        env.cleanup(request.node.nodeid)
    except Exception as exc:
        new.append("cleaning up after the test failed: %s" % exc)
    if new:
        pytest.fail("invariants violated after the test:\n  %s\n%s" % (
            "\n  ".join(new), diagnostics), pytrace=False)
