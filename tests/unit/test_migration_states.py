"""The migration status tables (vmctl/migration_states.py)."""

import pytest

from vmctl import instance_states as states
from vmctl import migration_states as ms


@pytest.mark.parametrize("kind", ms.TYPES)
def test_every_kind_has_a_table(kind):
    assert ms.TRANSITIONS[kind]


@pytest.mark.parametrize("kind", [ms.COLD, ms.RESIZE])
def test_cold_happy_paths(kind):
    for path in ([ms.PRE_MIGRATING, ms.MIGRATING, ms.POST_MIGRATING, ms.FINISHED,
                  ms.CONFIRMING, ms.CONFIRMED],
                 [ms.FINISHED, ms.REVERTING, ms.REVERTED]):
        for current, new in zip(path, path[1:]):
            ms.check(kind, current, new)


def test_evacuation_path():
    path = [ms.ACCEPTED, ms.PRE_MIGRATING, ms.DONE, ms.COMPLETED]
    for current, new in zip(path, path[1:]):
        ms.check(ms.EVACUATION, current, new)


@pytest.mark.parametrize("kind, current, new", [
    (ms.RESIZE, ms.FINISHED, ms.ERROR),           # a waiting resize is confirmed or reverted
    (ms.RESIZE, ms.CONFIRMED, ms.REVERTING),      # terminal
    (ms.COLD, ms.PRE_MIGRATING, ms.FINISHED),     # no skipping
    (ms.COLD, ms.REVERTED, ms.CONFIRMING),
    (ms.EVACUATION, ms.DONE, ms.ERROR),           # the new copy runs: only completed
    (ms.EVACUATION, ms.ACCEPTED, ms.DONE),
])
def test_illegal_moves_are_refused(kind, current, new):
    with pytest.raises(ms.IllegalTransition):
        ms.check(kind, current, new)


@pytest.mark.parametrize("kind", [ms.COLD, ms.EVACUATION])
def test_every_non_terminal_status_can_fail_or_end(kind):
    table = ms.TRANSITIONS[kind]
    for status, targets in table.items():
        assert status not in ms.TERMINAL
        assert targets, status
    for targets in table.values():
        for target in targets:
            assert target in table or target in ms.TERMINAL, target


def test_statuses_in_progress_are_not_terminal():
    assert not (ms.COLD_IN_PROGRESS | ms.EVACUATION_IN_PROGRESS) & ms.TERMINAL


@pytest.mark.parametrize("vm_state, task_state, status", [
    (states.ACTIVE, states.RESIZE_PREP, "RESIZE"),
    (states.STOPPED, states.RESIZE_MIGRATING, "RESIZE"),
    (states.ACTIVE, states.RESIZE_FINISH, "RESIZE"),
    (states.RESIZED, None, "VERIFY_RESIZE"),
    (states.RESIZED, states.RESIZE_CONFIRMING, "VERIFY_RESIZE"),
    (states.RESIZED, states.RESIZE_REVERTING, "REVERT_RESIZE"),
    (states.ERROR, states.REBUILDING, "REBUILD"),
])
def test_cold_move_statuses(vm_state, task_state, status):
    assert states.api_status(vm_state, task_state) == status


def test_resting_vm_state_follows_the_guest():
    assert states.resting_vm_state(states.RUNNING) == states.ACTIVE
    assert states.resting_vm_state(states.SHUTDOWN) == states.STOPPED


def test_a_resize_can_be_deleted_at_every_step():
    for task in (states.RESIZE_PREP, states.RESIZE_MIGRATING, states.RESIZE_MIGRATED,
                 states.RESIZE_FINISH, states.RESIZE_REVERTING, states.RESIZE_CONFIRMING,
                 states.REBUILDING):
        assert task in states.INTERRUPTIBLE_BY_DELETE
    assert states.RESIZED in states.DELETE.from_vm_states
