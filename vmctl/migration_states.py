"""Migration statuses and the transitions between them, one table per kind.

Every status change is a compare-and-swap along these tables
(``db.migration_records.move``): a lost race is refused, never overwritten.
"""

LIVE = "live-migration"
COLD = "migration"
RESIZE = "resize"
EVACUATION = "evacuation"
TYPES = (LIVE, COLD, RESIZE, EVACUATION)

# live
ACCEPTED = "accepted"
QUEUED = "queued"
PREPARING = "preparing"
RUNNING = "running"
POSTCOPY = "running (post-copy)"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
ERROR = "error"

# cold migration / resize
PRE_MIGRATING = "pre-migrating"
MIGRATING = "migrating"
POST_MIGRATING = "post-migrating"
FINISHED = "finished"
CONFIRMING = "confirming"
CONFIRMED = "confirmed"
REVERTING = "reverting"
REVERTED = "reverted"

# evacuation
DONE = "done"

TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, ERROR, CONFIRMED, REVERTED})

LIVE_TRANSITIONS = {
    # from: to (with why)
    ACCEPTED: {QUEUED,      # a destination was chosen, claimed and pre-checked
               FAILED,      # no valid host / every pre-check failed
               CANCELLED,   # aborted before it was handed to the source
               ERROR},      # an unexpected failure
    QUEUED: {PREPARING,     # the source's outgoing limit let it through
             CANCELLED, FAILED, ERROR},
    PREPARING: {RUNNING,    # the destination is ready; the hypervisor job started
                CANCELLED, FAILED, ERROR},
    RUNNING: {POSTCOPY,     # switched to post-copy (no abort from here on)
              COMPLETED, FAILED, CANCELLED, ERROR},
    POSTCOPY: {COMPLETED, FAILED, ERROR},
}

# Where an abort is still possible, and where it is refused with a reason.
ABORTABLE = frozenset({ACCEPTED, QUEUED, PREPARING, RUNNING})
IN_PROGRESS = frozenset({ACCEPTED, QUEUED, PREPARING, RUNNING, POSTCOPY})

COLD_TRANSITIONS = {
    # from: to (with why) -- cold migration and resize share the table
    PRE_MIGRATING: {MIGRATING,     # a destination was chosen, claimed (new flavor,
                                   # for the migration) and prepared
                    ERROR},        # no valid host / every destination refused
    MIGRATING: {POST_MIGRATING,    # the source powered off and exported the disk
                ERROR},            # the source failed and restored the guest
    POST_MIGRATING: {FINISHED,     # the guest is defined on the destination
                     ERROR},       # the destination failed: rolled back to the source
    FINISHED: {CONFIRMING,         # confirmResize (user, auto-confirm, delete)
               REVERTING},         # revertResize
    CONFIRMING: {CONFIRMED,        # the source copy is gone, its claim released
                 ERROR},
    REVERTING: {REVERTED,          # the guest runs on the source again, as before
                ERROR},            # it could not be restored (instance in ERROR)
}

EVACUATION_TRANSITIONS = {
    ACCEPTED: {PRE_MIGRATING,      # a destination was chosen and claimed
               ERROR},             # no valid host
    PRE_MIGRATING: {DONE,          # rebuilt on the destination from its image
                    ERROR},        # the rebuild failed (instance in ERROR)
    DONE: {COMPLETED},             # the old host came back and removed its leftovers
}

# Cold statuses a move is still under way in (a resize waiting for confirm
# or revert included): the source and destination both hold something.
COLD_IN_PROGRESS = frozenset({PRE_MIGRATING, MIGRATING, POST_MIGRATING, FINISHED,
                              CONFIRMING, REVERTING})
EVACUATION_IN_PROGRESS = frozenset({ACCEPTED, PRE_MIGRATING})
# Anything a compute service must not be deleted under.
ANY_IN_PROGRESS = IN_PROGRESS | COLD_IN_PROGRESS | EVACUATION_IN_PROGRESS | {DONE}

TRANSITIONS = {LIVE: LIVE_TRANSITIONS, COLD: COLD_TRANSITIONS, RESIZE: COLD_TRANSITIONS,
               EVACUATION: EVACUATION_TRANSITIONS}


class IllegalTransition(Exception):
    pass


def check(kind, current, new):
    """Raise IllegalTransition unless ``current -> new`` is in the table."""
    if new not in TRANSITIONS[kind].get(current, ()):
        raise IllegalTransition("migration status cannot go from %r to %r" % (current, new))


def sources_of(kind, new):
    """Every status a migration of ``kind`` may move to ``new`` from."""
    return [s for s, targets in TRANSITIONS[kind].items() if new in targets]
