"""Host: connection-loss detection, reconnects, events, KVM usability."""

import pytest

from vmctl import instance_states as states
from vmctl.virt.libvirt import host as host_mod


@pytest.mark.parametrize("code, domain, message, lost", [
    (host_mod.VIR_ERR_INTERNAL_ERROR, 0, "client socket is closed", True),
    (host_mod.VIR_ERR_INTERNAL_ERROR, 0, "Unable to find domain", False),
    (host_mod.VIR_ERR_SYSTEM_ERROR, host_mod.VIR_FROM_REMOTE, "anything", True),
    (host_mod.VIR_ERR_SYSTEM_ERROR, host_mod.VIR_FROM_RPC, "x", True),
    (host_mod.VIR_ERR_SYSTEM_ERROR, 10, "Cannot recv data: Connection reset", True),
    (host_mod.VIR_ERR_SYSTEM_ERROR, 10, "cannot open file", False),
    (host_mod.VIR_ERR_NO_CONNECT, 0, None, True),
    (host_mod.VIR_ERR_INVALID_CONN, 0, "", True),
    (host_mod.VIR_ERR_NO_DOMAIN, 0, "no domain", False),
])
def test_is_connection_lost(code, domain, message, lost):
    assert host_mod.is_connection_lost(code, domain, message) is lost


@pytest.mark.parametrize("event, detail, power_state", [
    (host_mod.EVENT_STARTED, 0, states.RUNNING),
    (host_mod.EVENT_RESUMED, 0, states.RUNNING),
    (host_mod.EVENT_SUSPENDED, 0, states.POWER_PAUSED),
    (host_mod.EVENT_STOPPED, 0, states.SHUTDOWN),
    (host_mod.EVENT_STOPPED, 1, states.SHUTDOWN),          # destroyed
    (host_mod.EVENT_STOPPED, host_mod.STOPPED_SAVED, states.POWER_SUSPENDED),
    (host_mod.EVENT_STOPPED, host_mod.STOPPED_CRASHED, states.CRASHED),
    (host_mod.EVENT_STOPPED, host_mod.STOPPED_MIGRATED, None),
    (host_mod.EVENT_CRASHED, 0, states.CRASHED),
    (host_mod.EVENT_PMSUSPENDED, 0, states.POWER_SUSPENDED),
    (host_mod.EVENT_DEFINED, 0, None),
    (host_mod.EVENT_UNDEFINED, 0, None),
    (host_mod.EVENT_SHUTDOWN, 0, None),
])
def test_lifecycle_power_state(event, detail, power_state):
    assert host_mod.lifecycle_power_state(event, detail) == power_state


class LibvirtError(Exception):
    def __init__(self, code, domain=0, message=""):
        super().__init__(message)
        self._e = (code, domain, message)

    def get_error_code(self):
        return self._e[0]

    def get_error_domain(self):
        return self._e[1]

    def get_error_message(self):
        return self._e[2]


class FakeConn:
    def __init__(self, fail_with=None):
        self.alive = True
        self.closed = False
        self.fail_with = fail_with
        self.calls = 0

    def isAlive(self):
        return self.alive

    def close(self):
        self.closed = True

    def unregisterCloseCallback(self):
        pass

    def getVersion(self):
        self.calls += 1
        if self.fail_with:
            raise self.fail_with
        return 10000002


def _host(monkeypatch, *conns):
    host = host_mod.Host("test:///x")
    pending = list(conns)
    monkeypatch.setattr(host, "_connect", lambda: pending.pop(0))
    return host


def test_connection_reused_while_alive(monkeypatch):
    first = FakeConn()
    host = _host(monkeypatch, first, FakeConn())
    assert host.get_connection() is first
    assert host.get_connection() is first


def test_reconnects_when_closed(monkeypatch):
    first, second = FakeConn(), FakeConn()
    host = _host(monkeypatch, first, second)
    host.get_connection()
    first.alive = False
    assert host.get_connection() is second
    assert first.closed


def test_call_retries_once_on_lost_connection(monkeypatch):
    lost = LibvirtError(host_mod.VIR_ERR_INTERNAL_ERROR, 0, "client socket is closed")
    first, second = FakeConn(fail_with=lost), FakeConn()
    host = _host(monkeypatch, first, second)
    assert host.get_version() == 10000002
    assert first.calls == 1 and second.calls == 1


def test_call_does_not_retry_other_errors(monkeypatch):
    other = LibvirtError(host_mod.VIR_ERR_NO_DOMAIN, 0, "no domain")
    first = FakeConn(fail_with=other)
    host = _host(monkeypatch, first)
    with pytest.raises(LibvirtError):
        host.get_version()
    assert host.get_connection() is first


def test_lifecycle_events_are_queued_and_delivered():
    host = host_mod.Host("test:///x")
    seen = []
    host._event_handler = lambda uuid, ps: seen.append((uuid, ps))

    class Dom:
        def UUIDString(self):
            return "u1"
    host._on_lifecycle(None, Dom(), host_mod.EVENT_SUSPENDED, 0, None)
    host._on_lifecycle(None, Dom(), host_mod.EVENT_DEFINED, 0, None)
    kind, payload = host._events.get_nowait()
    assert host._events.empty()
    assert kind == "lifecycle"
    host._deliver(*payload)
    host._deliver(*payload)
    host._deliver("u1", states.RUNNING)
    assert seen == [("u1", states.POWER_PAUSED), ("u1", states.RUNNING)]


def test_failing_handler_does_not_break_delivery():
    host = host_mod.Host("test:///x")

    def boom(uuid, ps):
        raise RuntimeError("boom")
    host._event_handler = boom
    host._deliver("u1", states.RUNNING)   # logged, not raised


def _ok():
    return "<domainCapabilities/>"


def test_kvm_usable(tmp_path):
    dev = tmp_path / "kvm"
    dev.write_text("")
    assert host_mod.kvm_problem(_ok, dev_kvm=str(dev), sys_module=str(tmp_path)) is None


def test_kvm_missing_device(tmp_path):
    problem = host_mod.kvm_problem(_ok, dev_kvm=str(tmp_path / "kvm"),
                                   sys_module=str(tmp_path))
    assert "does not exist" in problem


def test_kvm_pvm_is_refused(tmp_path):
    dev = tmp_path / "kvm"
    dev.write_text("")
    (tmp_path / "kvm_pvm").mkdir()
    problem = host_mod.kvm_problem(_ok, dev_kvm=str(dev), sys_module=str(tmp_path))
    assert "kvm_pvm" in problem


def test_kvm_without_domain_capabilities(tmp_path):
    def fail():
        raise LibvirtError(1, 0, "invalid argument: KVM is not supported")
    dev = tmp_path / "kvm"
    dev.write_text("")
    problem = host_mod.kvm_problem(fail, dev_kvm=str(dev), sys_module=str(tmp_path))
    assert "KVM is not supported" in problem


def test_kvm_remote_skips_device_checks(tmp_path):
    assert host_mod.kvm_problem(_ok, local=False, dev_kvm=str(tmp_path / "none")) is None
