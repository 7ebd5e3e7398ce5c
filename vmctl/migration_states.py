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

TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, ERROR, "confirmed", "reverted"})

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

TRANSITIONS = {LIVE: LIVE_TRANSITIONS}


class IllegalTransition(Exception):
    pass


def check(kind, current, new):
    """Raise IllegalTransition unless ``current -> new`` is in the table."""
    if new not in TRANSITIONS[kind].get(current, ()):
        raise IllegalTransition("migration status cannot go from %r to %r" % (current, new))


def sources_of(kind, new):
    """Every status a migration of ``kind`` may move to ``new`` from."""
    return [s for s, targets in TRANSITIONS[kind].items() if new in targets]
