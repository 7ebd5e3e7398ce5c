"""Image statuses and the one table of events that move between them.

Every event is a compare-and-swap in SQL (``UPDATE images SET status = :to
WHERE id = :id AND status IN :from``, see vmctl/db/images.py); an event an
image's status does not allow is a 409, never a silent overwrite.

::

    queued --upload--> saving --finish--> active
      ^                  |  \\
      +------abort-------+   kill | reject--> killed
    queued | saving | active | killed --delete--> deleted
"""

import collections

QUEUED = "queued"  # the record exists, no data yet
SAVING = "saving"  # data is being uploaded
ACTIVE = "active"  # data stored and hashed: downloadable
KILLED = "killed"  # the store failed while saving; only delete is left
DELETED = "deleted"  # gone (the row stays so the id is never reused)

STATUSES = (QUEUED, SAVING, ACTIVE, KILLED, DELETED)

Transition = collections.namedtuple("Transition", "from_statuses to_status")

# Event names are what vmctl/db/images.transition and error messages use.
TRANSITIONS = {
    # An upload begins: only an image without data accepts one.
    "upload": Transition((QUEUED,), SAVING),
    # The data is on disk, hashed and renamed into place.
    "finish": Transition((SAVING,), ACTIVE),
    # The client went away, sent too much or too little: the partial file is
    # removed and the image may be uploaded again.
    "abort": Transition((SAVING,), QUEUED),
    # The store itself failed (disk full, I/O error): the partial file is
    # removed; the image can only be deleted.
    "kill": Transition((SAVING,), KILLED),
    # The data is not what disk_format claims, or carries a backing file, an
    # external data file or another unsafe feature (format_inspector): the
    # file is removed and the image can never become active.
    "reject": Transition((SAVING,), KILLED),
    # Delete is allowed from anything but deleted; an upload in flight then
    # loses its "finish" swap and removes its file.
    "delete": Transition((QUEUED, SAVING, ACTIVE, KILLED), DELETED),
}

# Statuses whose image has data that can be downloaded.
HAS_DATA = (ACTIVE,)


def transition(event):
    """The Transition of ``event``; KeyError for an unknown event."""
    return TRANSITIONS[event]
