"""Scenario 2: power actions on a real guest, judged from both sides: the
server's status and power state (API), libvirt's domain state, and what the
guest prints (BOOT counter, heartbeat sequence, INIT poweroff).

The steps share one server and run in file order.
"""

import time

import pytest

from vmctl.virt.libvirt import guest as libvirt_guest

# How long a stopped guest must stay silent to count as stopped (its
# heartbeat comes every 200 ms).
SILENCE_SECONDS = 1.5


@pytest.fixture(scope="module")
def server(kvm_env):
    server = kvm_env.boot("kvm-power", host="h1")
    kvm_env.wait_heartbeat(server["id"], boot=1)
    yield server
    kvm_env.delete([server["id"]])


def _check(env, server, status, power_state, domain_state):
    got = env.api.server(server["id"])
    assert (got["status"], got["OS-EXT-STS:power_state"]) == (status, power_state), got
    assert env.lab.domain_state("h1", server["id"]) == domain_state
    return got


def _silent(env, server):
    """The guest prints no heartbeat for SILENCE_SECONDS; its console then."""
    before = env.console(server["id"])
    time.sleep(SILENCE_SECONDS)
    after = env.console(server["id"])
    assert (after.boots, after.seq) == (before.boots, before.seq), (
        "the guest still runs: %s -> %s" % (before.summary(), after.summary()))
    return after


def test_stop_powers_off_cleanly(kvm_env, server):
    before = kvm_env.wait_heartbeat(server["id"])
    kvm_env.act(server["id"], {"os-stop": None}, "SHUTOFF")
    _check(kvm_env, server, "SHUTOFF", 4, libvirt_guest.VIR_DOMAIN_SHUTOFF)
    after = _silent(kvm_env, server)
    # The ACPI power button reached the guest: it shut itself down.
    assert after.poweroffs == before.poweroffs + 1, after.summary()


def test_start_boots_again(kvm_env, server):
    before = kvm_env.console(server["id"])
    kvm_env.act(server["id"], {"os-start": None}, "ACTIVE")
    _check(kvm_env, server, "ACTIVE", 1, libvirt_guest.VIR_DOMAIN_RUNNING)
    after = kvm_env.wait_heartbeat(server["id"], boot=before.boot + 1)
    assert after.boots == before.boots + [before.boot + 1]


def test_soft_reboot_goes_through_the_guest(kvm_env, server):
    before = kvm_env.wait_heartbeat(server["id"])
    kvm_env.act(server["id"], {"reboot": {"type": "SOFT"}}, "ACTIVE")
    _check(kvm_env, server, "ACTIVE", 1, libvirt_guest.VIR_DOMAIN_RUNNING)
    after = kvm_env.wait_heartbeat(server["id"], boot=before.boot + 1)
    assert after.poweroffs == before.poweroffs + 1, after.summary()


def test_hard_reboot_pulls_the_plug(kvm_env, server):
    before = kvm_env.wait_heartbeat(server["id"])
    kvm_env.act(server["id"], {"reboot": {"type": "HARD"}}, "ACTIVE")
    _check(kvm_env, server, "ACTIVE", 1, libvirt_guest.VIR_DOMAIN_RUNNING)
    after = kvm_env.wait_heartbeat(server["id"], boot=before.boot + 1)
    # No ACPI: the guest never saw a power button.
    assert after.poweroffs == before.poweroffs, after.summary()


def test_pause_freezes_and_unpause_continues(kvm_env, server):
    kvm_env.wait_heartbeat(server["id"])
    kvm_env.act(server["id"], {"pause": None}, "PAUSED")
    _check(kvm_env, server, "PAUSED", 3, libvirt_guest.VIR_DOMAIN_PAUSED)
    paused = _silent(kvm_env, server)

    kvm_env.act(server["id"], {"unpause": None}, "ACTIVE")
    _check(kvm_env, server, "ACTIVE", 1, libvirt_guest.VIR_DOMAIN_RUNNING)
    after = kvm_env.wait_heartbeat(server["id"], after_seq=paused.seq + 3, boot=paused.boot)
    # The same boot went on: no reboot, no hole in the sequence.
    assert after.boots == paused.boots and not after.holes(), after.summary()


def test_suspend_saves_and_resume_restores(kvm_env, server):
    kvm_env.wait_heartbeat(server["id"])
    kvm_env.act(server["id"], {"suspend": None}, "SUSPENDED")
    _check(kvm_env, server, "SUSPENDED", 7, libvirt_guest.VIR_DOMAIN_SHUTOFF)
    dom = kvm_env.lab.conn("h1").lookupByUUIDString(server["id"])
    assert dom.hasManagedSaveImage(0) == 1
    suspended = _silent(kvm_env, server)

    kvm_env.act(server["id"], {"resume": None}, "ACTIVE")
    _check(kvm_env, server, "ACTIVE", 1, libvirt_guest.VIR_DOMAIN_RUNNING)
    after = kvm_env.wait_heartbeat(server["id"], after_seq=suspended.seq + 3,
                                   boot=suspended.boot)
    # Restored from memory, not rebooted: same boot, the guest's clock went on.
    assert after.boots == suspended.boots and not after.holes(), after.summary()
    assert after.uptime_ms > suspended.uptime_ms
    assert not kvm_env.lab.conn("h1").lookupByUUIDString(server["id"]).hasManagedSaveImage(0)
