"""Instance states and the one table of actions that move between them.

vm_state is where an instance rests; task_state is the action under way
(None when idle); power_state is what the hypervisor reports. Every action
is a row of ``ACTIONS``: the vm_states it may start from, the task_state it
sets while it runs (a compare-and-swap from task_state None), and the
vm_state it leaves behind on success. Anything else is refused with 409.
The API status is derived from (vm_state, task_state) by ``api_status``.
"""

import collections

# vm_state
BUILDING = "building"
ACTIVE = "active"
STOPPED = "stopped"
PAUSED = "paused"
SUSPENDED = "suspended"
ERROR = "error"
DELETED = "deleted"
RESIZED = "resized"     # moved by a cold migration / resize, waiting for confirm or revert

# task_state
SCHEDULING = "scheduling"
SPAWNING = "spawning"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
DELETING = "deleting"
MIGRATING = "migrating"
# cold migration / resize (as Nova), in the order they happen
RESIZE_PREP = "resize_prep"               # scheduling and preparing the destination
RESIZE_MIGRATING = "resize_migrating"     # the source powers off and exports the disk
RESIZE_MIGRATED = "resize_migrated"       # the disk is ready for the destination
RESIZE_FINISH = "resize_finish"           # the destination imports it and defines the guest
RESIZE_REVERTING = "resize_reverting"     # revertResize under way
RESIZE_CONFIRMING = "resize_confirming"   # confirmResize under way
REBUILDING = "rebuilding"                 # evacuate: rebuilt on another host

# power_state, as reported by the driver (values as in Nova/libvirt).
NOSTATE = 0
RUNNING = 1
POWER_PAUSED = 3
SHUTDOWN = 4
CRASHED = 6
POWER_SUSPENDED = 7

POWER_STATE_NAMES = {NOSTATE: "NOSTATE", RUNNING: "RUNNING",
                     POWER_PAUSED: "PAUSED", SHUTDOWN: "SHUTDOWN",
                     CRASHED: "CRASHED", POWER_SUSPENDED: "SUSPENDED"}

Action = collections.namedtuple("Action", "from_vm_states task_state to_vm_state power_state")

ANY_LIVE = (ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR, BUILDING, RESIZED)

ACTIONS = {
    # action:      from vm_states,              task while running, on success, power after
    "stop": Action((ACTIVE, ERROR), POWERING_OFF, STOPPED, SHUTDOWN),
    "start": Action((STOPPED,), POWERING_ON, ACTIVE, RUNNING),
    # A soft reboot needs a running guest; a hard one recovers from anything.
    "reboot": Action((ACTIVE,), REBOOTING, ACTIVE, RUNNING),
    "reboot_hard": Action((ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR), REBOOTING_HARD, ACTIVE, RUNNING),
    "pause": Action((ACTIVE,), PAUSING, PAUSED, POWER_PAUSED),
    "unpause": Action((PAUSED,), UNPAUSING, ACTIVE, RUNNING),
    "suspend": Action((ACTIVE, PAUSED), SUSPENDING, SUSPENDED, POWER_SUSPENDED),
    "resume": Action((SUSPENDED,), RESUMING, ACTIVE, RUNNING),
}

# task_state -> the action it belongs to
ACTION_FOR_TASK = {action.task_state: name for name, action in ACTIONS.items()}

# Delete may interrupt any task except another delete.
DELETE = Action(ANY_LIVE, DELETING, DELETED, NOSTATE)

# Task states an action can be interrupted in by delete; builds are
# interrupted too (the compute cleans up what it spawned).
INTERRUPTIBLE_BY_DELETE = (None, SCHEDULING, SPAWNING, POWERING_OFF,
                           POWERING_ON, REBOOTING, REBOOTING_HARD, PAUSING,
                           UNPAUSING, SUSPENDING, RESUMING, RESIZE_PREP,
                           RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH,
                           RESIZE_REVERTING, RESIZE_CONFIRMING, REBUILDING)

_STATUS_BY_VM_STATE = {
    BUILDING: "BUILD",
    ACTIVE: "ACTIVE",
    STOPPED: "SHUTOFF",
    PAUSED: "PAUSED",
    SUSPENDED: "SUSPENDED",
    ERROR: "ERROR",
    DELETED: "DELETED",
    RESIZED: "VERIFY_RESIZE",
}

# (vm_state, task_state) pairs whose status differs from the vm_state's.
_STATUS_OVERRIDES = {
    (ACTIVE, REBOOTING): "REBOOT",
    (ACTIVE, REBOOTING_HARD): "HARD_REBOOT",
    (STOPPED, REBOOTING_HARD): "HARD_REBOOT",
    (PAUSED, REBOOTING_HARD): "HARD_REBOOT",
    (SUSPENDED, REBOOTING_HARD): "HARD_REBOOT",
    (ERROR, REBOOTING_HARD): "HARD_REBOOT",
    (ACTIVE, MIGRATING): "MIGRATING",
    (PAUSED, MIGRATING): "MIGRATING",
    **{(vm, task): "RESIZE" for vm in (ACTIVE, STOPPED)
       for task in (RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH)},
    (RESIZED, RESIZE_REVERTING): "REVERT_RESIZE",
    **{(vm, REBUILDING): "REBUILD" for vm in (ACTIVE, STOPPED, ERROR)},
}

# Live migration: from these vm_states, task_state None -> MIGRATING; the
# instance keeps its vm_state (it runs throughout) and ends on either host.
LIVE_MIGRATE_FROM = (ACTIVE, PAUSED)

# Cold migration / resize: from these vm_states, task_state None ->
# RESIZE_PREP; the instance rests in RESIZED until confirm or revert, which
# put it back to ACTIVE or STOPPED by the guest's power state.
RESIZE_FROM = (ACTIVE, STOPPED)
# Evacuate: from these, task_state None -> REBUILDING; it ends ACTIVE.
EVACUATE_FROM = (ACTIVE, STOPPED, ERROR)


def resting_vm_state(power_state):
    """The vm_state a moved guest rests in: stopped when it is shut off."""
    return STOPPED if power_state in (SHUTDOWN, CRASHED, NOSTATE) else ACTIVE


def api_status(vm_state, task_state):
    if task_state == DELETING and vm_state != DELETED:
        return _STATUS_BY_VM_STATE.get(vm_state, "UNKNOWN")
    return _STATUS_OVERRIDES.get((vm_state, task_state),
                                 _STATUS_BY_VM_STATE.get(vm_state, "UNKNOWN"))


def vm_states_for_status(status):
    """The (vm_state, task_state) filter an API status stands for."""
    status = status.upper()
    pairs = [(vm, task) for (vm, task), st in _STATUS_OVERRIDES.items() if st == status]
    vms = [vm for vm, st in _STATUS_BY_VM_STATE.items() if st == status]
    return vms, pairs


def action_for(name):
    """The table row for an action; KeyError for an unknown one."""
    return ACTIONS[name]


def runs_as_before(inst, power_state):
    """The guest runs as it did before its migration (not shut off or paused
    by a switch-over the hypervisor has not finished tidying). ``inst``:
    anything with a ``vm_state`` (an Instance, or the conductor's DB row)."""
    if inst.vm_state == PAUSED:
        return power_state == POWER_PAUSED
    return power_state == RUNNING
