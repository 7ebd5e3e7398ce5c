"""Uploading and downloading image data: the store and the status swaps.

No database transaction is held while data moves: each status change is
its own short transaction (a compare-and-swap, see vmctl/db/images.py).
"""

import logging

from vmctl.db import images as db_images
from vmctl.image_client import format_inspector
from vmctl.images import exception
from vmctl.images import limits
from vmctl.images import states
from vmctl.images import store as image_store

LOG = logging.getLogger(__name__)


def upload(db, store, image_id, stream, conf, length=None):
    """Store ``stream`` as the data of a queued image and make it active.

    ``length`` is the declared Content-Length (None when chunked). The
    stored data is inspected before the image goes active: data that is not
    a safe image of its disk_format is removed and the image killed
    (ImageContentRejected, 400). On any other failure the partial file is
    removed and the image goes back to queued (killed when the disk
    failed), then the error is raised.
    """
    cap = conf.image.image_size_cap
    if length is not None and length > cap:
        raise exception.ImageTooLarge(limit=cap)
    with db.transaction() as session:
        db_images.transition(session, image_id, "upload")
        row = db_images.get(session, image_id)
        disk_format, owner = row.disk_format, row.owner
        room = limits.stored_room(session, conf, owner)
    limit = cap if room is None else min(cap, room)
    if room is not None and length is not None and length > room:
        _undo(db, image_id, "abort")
        raise limits.over_stored(owner, room)
    try:
        hashes = _write(db, store, image_id, stream, limit, length)
    except exception.ImageTooLarge:
        if room is not None and room < cap:
            raise limits.over_stored(owner, room) from None
        raise
    detected = _inspect(db, store, image_id, disk_format)
    values = {"size": hashes.size, "checksum": hashes.checksum,
              "os_hash_algo": image_store.HASH_ALGO,
              "os_hash_value": hashes.os_hash_value,
              "virtual_size": detected.virtual_size or hashes.size}
    try:
        with db.transaction() as session:
            db_images.transition(session, image_id, "finish", values)
    except BaseException:
        # Deleted while it was uploading: its data must not outlive it.
        store.delete(image_id)
        raise


def _write(db, store, image_id, stream, limit, length):
    """The Hashes of the stored stream; failures undo the upload."""
    try:
        return store.write(image_id, stream, limit, length)
    except image_store.StreamError as exc:
        _undo(db, image_id, "abort")
        raise exception.ImageUploadIncomplete(image_id=image_id, reason=str(exc)) from None
    except OSError as exc:
        LOG.error("Storing image %s failed: %s", image_id, exc)
        _undo(db, image_id, "kill")
        raise exception.ImageStoreFailed(image_id=image_id, reason=exc.strerror or exc) from exc
    except BaseException:
        _undo(db, image_id, "abort")
        raise


def _inspect(db, store, image_id, disk_format):
    """The Detected format of the stored data; ImageContentRejected (the
    file removed, the image killed) when it is not a safe ``disk_format``."""
    try:
        return format_inspector.check_file(store.path(image_id), disk_format)
    except format_inspector.FormatError as exc:
        LOG.warning("Image %s refused: %s", image_id, exc)
        store.delete(image_id)
        _undo(db, image_id, "reject")
        raise exception.ImageContentRejected(image_id=image_id, reason=exc) from None


def _undo(db, image_id, event):
    """Move a failed upload out of saving; an image deleted meanwhile is a 404."""
    try:
        with db.transaction() as session:
            db_images.transition(session, image_id, event)
    except exception.ImageNotFound:
        raise
    except exception.ImageInvalidState as exc:
        LOG.warning("Image %s left saving before its failed upload ended: %s",
                    image_id, exc)


def open_download(store, row):
    """A WSGI iterable of the image's verified data, or None without data.

    The file is checked against the recorded size and sha256 before the
    first byte is sent (one extra read of the file); a mismatch or a missing
    file is ImageDataCorrupt (409), and the download itself re-checks.
    """
    if row.status not in states.HAS_DATA:
        return None
    on_disk = store.size(row.id)
    if on_disk is None:
        raise _corrupt(row, "its data file is missing")
    if on_disk != row.size:
        raise _corrupt(row, "%d bytes on disk, %d recorded" % (on_disk, row.size))
    try:
        if store.hash_file(row.id).os_hash_value != row.os_hash_value:
            raise _corrupt(row, "its %s does not match os_hash_value" % row.os_hash_algo)
        return store.open_chunks(row.id, row.size, row.os_hash_value)
    except FileNotFoundError:
        raise _corrupt(row, "its data file is missing") from None


def _corrupt(row, reason):
    LOG.error("Image %s data is corrupt: %s", row.id, reason)
    return exception.ImageDataCorrupt(image_id=row.id, reason=reason)
