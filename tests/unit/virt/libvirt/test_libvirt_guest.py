"""Power state mapping and bounded waits of a Guest (no libvirt needed)."""

import pytest

from vmctl import instance_states as states
from vmctl.virt.libvirt import guest as guest_mod


@pytest.mark.parametrize("state, managed, expected", [
    (guest_mod.VIR_DOMAIN_NOSTATE, False, states.NOSTATE),
    (guest_mod.VIR_DOMAIN_RUNNING, False, states.RUNNING),
    (guest_mod.VIR_DOMAIN_BLOCKED, False, states.RUNNING),
    (guest_mod.VIR_DOMAIN_PAUSED, False, states.POWER_PAUSED),
    (guest_mod.VIR_DOMAIN_SHUTDOWN, False, states.SHUTDOWN),
    (guest_mod.VIR_DOMAIN_SHUTOFF, False, states.SHUTDOWN),
    (guest_mod.VIR_DOMAIN_SHUTOFF, True, states.POWER_SUSPENDED),
    (guest_mod.VIR_DOMAIN_CRASHED, False, states.CRASHED),
    (guest_mod.VIR_DOMAIN_PMSUSPENDED, False, states.POWER_SUSPENDED),
    (99, False, states.NOSTATE),
])
def test_power_state_mapping(state, managed, expected):
    assert guest_mod.power_state_from_libvirt(state, managed) == expected


class FakeDomain:
    def __init__(self, states_seq, managed=False):
        self._states = list(states_seq)
        self._managed = managed

    def state(self):
        value = self._states[0]
        if len(self._states) > 1:
            self._states.pop(0)
        return [value, 0]

    def hasManagedSaveImage(self, flags):
        return int(self._managed)


def test_power_state_of_managed_saved_domain():
    guest = guest_mod.Guest(FakeDomain([guest_mod.VIR_DOMAIN_SHUTOFF], managed=True))
    assert guest.power_state() == states.POWER_SUSPENDED


def test_wait_for_state_reaches():
    guest = guest_mod.Guest(FakeDomain([1, 1, 5]))
    ticks = []
    assert guest.wait_for_state({5}, timeout=5, interval=0.01, on_tick=ticks.append)
    assert len(ticks) == 2


def test_wait_for_state_is_bounded():
    guest = guest_mod.Guest(FakeDomain([1]))
    assert not guest.wait_for_state({5}, timeout=0.05, interval=0.01)
