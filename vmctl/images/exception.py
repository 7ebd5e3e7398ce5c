"""Image service errors; the API maps each to an HTTP status by ``code``."""

from vmctl import exception


class ImageNotFound(exception.NotFound):
    msg_fmt = "Image %(image_id)s could not be found."


class ImageExists(exception.Conflict):
    msg_fmt = "Image with identifier %(image_id)s already exists."


class ImageInvalidState(exception.Conflict):
    msg_fmt = ("Cannot %(event)s image %(image_id)s while it is in status "
               "%(status)s.")


class ImageDataCorrupt(exception.Conflict):
    msg_fmt = ("Image data of image %(image_id)s is corrupt: %(reason)s. "
               "Delete the image and upload it again.")


class ImageProtected(exception.VmctlError):
    code = 403
    msg_fmt = "Image %(image_id)s is protected and cannot be deleted."


class ImageTooLarge(exception.VmctlError):
    code = 413
    msg_fmt = ("Image data exceeds the limit of %(limit)d bytes "
               "([image] image_size_cap).")


class ImageQuotaExceeded(exception.VmctlError):
    """A project's image limit ([image] image_count_total / image_stored_total)."""

    code = 413
    msg_fmt = "Image quota exceeded: %(reason)s"


class ImageContentRejected(exception.Invalid):
    """The data is not a safe image of its disk_format (format_inspector)."""

    msg_fmt = "Image %(image_id)s was refused: %(reason)s."


class ImageUploadIncomplete(exception.Invalid):
    msg_fmt = "Upload of image %(image_id)s did not complete: %(reason)s"


class ImageStoreFailed(exception.VmctlError):
    """The file store failed (disk full, I/O error): a server fault."""

    code = 500
    msg_fmt = "Could not store the data of image %(image_id)s: %(reason)s"
