"""What each step of an instance's tasks expects of it and does to it.

One row per step of a build, a delete and every move (live migration, cold
migration and resize, confirm, revert, evacuation, with their rollbacks and
the heals of lost steps). Each step is one compare-and-swap on the instance
(``db.instances.compare_and_swap``): it only happens while the instance's
task_state is one of ``expects`` (None: at rest) and, when given, its vm_state
one of ``from_vm_states``; it then writes ``sets`` as the task_state (None: the
task is over) and leaves the vm_state as one of ``to_vm_states`` (``KEEP``:
unchanged). A lost race is refused, never overwritten.

The code reads its rows (``step(flow, name)``), so this file is what a move
may do to an instance. The statuses of the migration record that moves along
with it are in ``migration_states.py``; the power actions (stop, start,
reboot...) are ``states.ACTIONS``. tests/unit/test_instance_tasks.py checks
the table is consistent and that no compare-and-swap bypasses it;
doc/state-diagrams.md draws it (``python -m vmctl.state_diagrams``).
"""

import collections

from vmctl import instance_states as s

# to_vm_states: the vm_state is left as it was.
KEEP = "(unchanged)"
# The vm_state a moved guest rests in, by its power state (states.resting_vm_state).
RESTING = (s.ACTIVE, s.STOPPED)

Step = collections.namedtuple("Step", "expects from_vm_states sets to_vm_states")


def _step(expects, sets, to_vm_states=(KEEP,), from_vm_states=None):
    expects = expects if isinstance(expects, tuple) else (expects,)
    return Step(expects, from_vm_states, sets, to_vm_states)


# The task states of a cold migration or resize on its way to the destination.
_COLD = (s.RESIZE_PREP, s.RESIZE_MIGRATING, s.RESIZE_MIGRATED, s.RESIZE_FINISH)

FLOWS = {
    "build": {
        # API: the record is created scheduling (not a compare-and-swap).
        "create": _step((), s.SCHEDULING, (s.BUILDING,)),
        # API: the conductor could not be reached: visible ERROR.
        "cast_failed": _step(s.SCHEDULING, None, (s.ERROR,)),
        # conductor: no valid host (or every attempt used): ERROR, on no host.
        "no_valid_host": _step(s.SCHEDULING, None, (s.ERROR,)),
        # conductor: the scheduler placed it; cast to the host to spawn.
        "placed": _step(s.SCHEDULING, s.SPAWNING),
        # the compute spawned the guest.
        "spawned": _step(s.SPAWNING, None, (s.ACTIVE,)),
        # the spawn failed and attempts are left: scheduled again elsewhere.
        "reschedule": _step(s.SPAWNING, s.SCHEDULING),
        # the spawn failed on the last attempt: ERROR with a fault.
        "spawn_failed": _step(s.SPAWNING, None, (s.ERROR,)),
    },
    "delete": {
        # API: a delete interrupts any task but another delete.
        "start": _step(s.INTERRUPTIBLE_BY_DELETE, s.DELETING),
        # the compute (or the conductor, for a host that is down) removed it.
        "deleted": _step(s.DELETING, None, (s.DELETED,)),
        # the compute could not remove the guest: ERROR with a fault.
        "failed": _step(s.DELETING, None, (s.ERROR,)),
    },
    "live_migration": {
        # API os-migrateLive: from a running or paused guest at rest.
        "start": _step(None, s.MIGRATING, from_vm_states=s.LIVE_MIGRATE_FROM),
        # the migration ended (completed: host switched; failed, cancelled:
        # on the source as before); ERROR only when the guest runs on
        # neither host.
        "end": _step(s.MIGRATING, None, (KEEP, s.ERROR)),
        # heal: no live migration in progress any more; the task is cleared.
        "heal_no_record": _step(s.MIGRATING, None),
    },
    "cold_migration": {  # migrate and resize: one flow, the flavor aside
        # API migrate / resize.
        "start": _step(None, s.RESIZE_PREP, from_vm_states=s.RESIZE_FROM),
        # a destination was claimed and prepared; the source powers off and
        # exports the disk.
        "hand_to_source": _step(s.RESIZE_PREP, s.RESIZE_MIGRATING),
        # the source is down or no destination could take it: at rest again
        # where it was (resize_migrating too, should the hand-over be recorded).
        "no_destination": _step((s.RESIZE_PREP, s.RESIZE_MIGRATING), None),
        # the source offered the disk (again, if its report is repeated).
        "disk_offered": _step((s.RESIZE_MIGRATING, s.RESIZE_MIGRATED), s.RESIZE_MIGRATED),
        # the source could not hand over the disk: the guest is as it was.
        "source_failed": _step((s.RESIZE_MIGRATING, s.RESIZE_MIGRATED), None),
        # the destination is told to pull the disk and define the guest.
        "finish_sent": _step(s.RESIZE_MIGRATED, s.RESIZE_FINISH),
        # the guest runs on the destination: VERIFY_RESIZE until confirm/revert.
        "finished": _step(s.RESIZE_FINISH, None, (s.RESIZED,)),
        # the destination failed: the guest runs on the source again, as it
        # did; ERROR (with a fault) if the source cannot bring it back.
        "rolled_back": _step(s.RESIZE_FINISH, None, (*RESTING, s.ERROR)),
        # heal: the conductor died while choosing a destination.
        "heal_lost": _step(s.RESIZE_PREP, None),
        # heal: a stalled hand-over or finish is sent again from the start.
        "heal_resend": _step((s.RESIZE_MIGRATING, s.RESIZE_MIGRATED, s.RESIZE_FINISH),
                             s.RESIZE_MIGRATING),
        # heal: no unfinished migration record: the task is cleared.
        "heal_no_record": _step(_COLD, None),
    },
    "confirm_resize": {
        # API confirmResize or auto-confirm ([DEFAULT] resize_confirm_window).
        "start": _step(None, s.RESIZE_CONFIRMING, from_vm_states=(s.RESIZED,)),
        # the source dropped its copy (or is down: its recovery drops it).
        "confirmed": _step(s.RESIZE_CONFIRMING, None, RESTING),
        # heal: no unfinished migration record: the task is cleared.
        "heal_no_record": _step(s.RESIZE_CONFIRMING, None),
    },
    "revert_resize": {
        # API revertResize.
        "start": _step(None, s.RESIZE_REVERTING, from_vm_states=(s.RESIZED,)),
        # the destination could not remove its guest: ERROR, stays there.
        "dest_failed": _step(s.RESIZE_REVERTING, None, (s.ERROR,)),
        # the guest runs on the source again; ERROR if it could not be restored.
        "reverted": _step(s.RESIZE_REVERTING, None, (*RESTING, s.ERROR)),
        # heal: no unfinished migration record: the task is cleared.
        "heal_no_record": _step(s.RESIZE_REVERTING, None),
    },
    "evacuate": {
        # API evacuate, once the instance's compute service is down.
        "start": _step(None, s.REBUILDING, from_vm_states=s.EVACUATE_FROM),
        # no valid host: at rest again, untouched.
        "no_host": _step(s.REBUILDING, None),
        # rebuilt on the destination (stopped again for keep_stopped, 2.95).
        "rebuilt": _step(s.REBUILDING, None, RESTING),
        # the rebuild failed: ERROR with a fault.
        "failed": _step(s.REBUILDING, None, (s.ERROR,)),
        # heal: lost before a destination was chosen.
        "heal_lost": _step(s.REBUILDING, None),
        # heal: no unfinished migration record: the task is cleared.
        "heal_no_record": _step(s.REBUILDING, None),
    },
}


def step(flow, name):
    """The row of step ``name`` of ``flow``; KeyError for an unknown one."""
    return FLOWS[flow][name]


def task_states_set():
    """Every task_state some step sets (None excluded)."""
    return {row.sets for rows in FLOWS.values() for row in rows.values()} - {None}
