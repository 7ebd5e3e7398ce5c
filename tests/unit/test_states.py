"""The instance state table (vmctl/instance_states.py)."""

import pytest

from vmctl import instance_states as states


def test_every_action_has_its_own_task_state():
    task_states = [a.task_state for a in states.ACTIONS.values()]
    assert len(task_states) == len(set(task_states))
    assert states.DELETE.task_state not in task_states


def test_actions_end_in_a_resting_state():
    resting = {states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED}
    for name, action in states.ACTIONS.items():
        assert action.to_vm_state in resting, name
        assert action.from_vm_states, name


def test_delete_interrupts_every_action_but_itself():
    for action in states.ACTIONS.values():
        assert action.task_state in states.INTERRUPTIBLE_BY_DELETE
    assert states.DELETING not in states.INTERRUPTIBLE_BY_DELETE


@pytest.mark.parametrize("vm_state, task_state, status", [
    (states.BUILDING, states.SCHEDULING, "BUILD"),
    (states.ACTIVE, None, "ACTIVE"),
    (states.ACTIVE, states.REBOOTING, "REBOOT"),
    (states.STOPPED, states.REBOOTING_HARD, "HARD_REBOOT"),
    (states.STOPPED, None, "SHUTOFF"),
    (states.PAUSED, states.UNPAUSING, "PAUSED"),
    (states.ACTIVE, states.DELETING, "ACTIVE"),
    (states.ERROR, None, "ERROR"),
    (states.DELETED, None, "DELETED"),
])
def test_api_status(vm_state, task_state, status):
    assert states.api_status(vm_state, task_state) == status


def test_status_filter_round_trips():
    for (vm, task), status in states._STATUS_OVERRIDES.items():
        vms, pairs = states.vm_states_for_status(status)
        assert (vm, task) in pairs
    vms, pairs = states.vm_states_for_status("shutoff")
    assert vms == [states.STOPPED] and pairs == []


@pytest.mark.parametrize("vm_state, power_state, expected", [
    (states.ACTIVE, states.SHUTDOWN, states.STOPPED),
    (states.ACTIVE, states.CRASHED, states.STOPPED),
    (states.STOPPED, states.RUNNING, states.ACTIVE),
    (states.ACTIVE, states.RUNNING, None),
    (states.SUSPENDED, states.POWER_SUSPENDED, None),
])
def test_power_state_sync(vm_state, power_state, expected):
    from vmctl.conductor.tasks import power

    values = power.sync_values(vm_state, power_state)
    assert values["power_state"] == power_state
    assert values.get("vm_state") == expected
