"""Per-project image limits: how many images, how many bytes stored.

``[image] image_count_total`` is checked when an image is created,
``[image] image_stored_total`` (MiB) when its data is uploaded; -1 means no
limit. Both are 413, as Glance answers a quota it enforces on upload. Two
uploads racing each other may together pass the stored total by at most one
image's size (each is checked against what was stored when it began).
"""

from vmctl.db import images as db_images
from vmctl.images import exception

MiB = 1024 ** 2


def check_count(session, conf, owner):
    """ImageQuotaExceeded when ``owner`` may not create one more image."""
    limit = conf.image.image_count_total
    if limit < 0:
        return
    count, _stored = db_images.project_usage(session, owner)
    if count >= limit:
        raise exception.ImageQuotaExceeded(
            reason="project %s has %d of %d images ([image] image_count_total)"
                   % (owner, count, limit))


def stored_room(session, conf, owner):
    """Bytes ``owner`` may still store, or None without a limit."""
    limit = conf.image.image_stored_total
    if limit < 0:
        return None
    _count, stored = db_images.project_usage(session, owner)
    return max(0, limit * MiB - stored)


def over_stored(owner, room):
    return exception.ImageQuotaExceeded(
        reason="the upload exceeds the %d bytes project %s may still store "
               "([image] image_stored_total)" % (room, owner))
