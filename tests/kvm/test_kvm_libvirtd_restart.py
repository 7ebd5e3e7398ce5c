"""Scenario 6: libvirtd restarts under a running compute agent (killed by
its pid, started again inside the host's namespaces). The guest never
notices; the agent reconnects: a power action on the running guest and a
new boot on that host work afterwards."""

import signal

import pytest

from vmctl.virt.libvirt import guest as libvirt_guest


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_compute_survives_a_libvirtd_restart(kvm_env, sig):
    env = kvm_env
    host = "h1"
    server = env.boot("kvm-restart", host=host)
    before = env.wait_heartbeat(server["id"])
    compute = env.cloud.processes[host]

    old_pid, new_pid = env.lab.restart_libvirtd(host, sig)
    assert new_pid and new_pid != old_pid

    # The guest ran on through it: same boot, newer heartbeats, no hole.
    after = env.wait_heartbeat(server["id"], after_seq=before.seq + 5, boot=before.boot)
    assert not after.holes(), after.summary()
    assert env.lab.domain_state(host, server["id"]) == libvirt_guest.VIR_DOMAIN_RUNNING
    assert compute.alive(), "the compute agent of %s died" % host

    # The agent reconnected: a hard reboot goes through libvirt, ...
    env.act(server["id"], {"reboot": {"type": "HARD"}}, "ACTIVE")
    rebooted = env.wait_heartbeat(server["id"], boot=before.boot + 1)
    assert rebooted.poweroffs == before.poweroffs
    # ... and so does a new guest on the same host.
    second = env.boot("kvm-restart-new", host=host)
    env.wait_heartbeat(second["id"], boot=1)
    assert env.api.server(server["id"])["status"] == "ACTIVE"
    assert compute.alive() and compute.pid == env.cloud.processes[host].pid

    env.delete([server["id"], second["id"]])
    assert env.lab.domains(host) == {}
