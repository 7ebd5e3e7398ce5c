"""Ids a request body names, resolved as the caller sees them.

Every reference (``imageRef`` and the image's ``kernel_id`` / ``ramdisk_id``,
``flavorRef``) is looked up with the caller's visibility, at the API, before
the request is accepted: the services behind the API act with identities
that see everything, so what they are asked to use must already be what the
caller may use. A reference the caller may not see is answered exactly as
one that does not exist (400 naming the field), so the answer is no oracle
for another project's ids.

  image    its owner's project, public and community images; an
           administrator sees every one (vmctl/images/visibility.py)
  flavor   public flavors; private ones for those who may list them
           (vmctl/api/flavors.py ``sees_private``)
"""

from vmctl import exception
from vmctl.api import errors
from vmctl.api import flavors
from vmctl.db import images as db_images
from vmctl.images import exception as image_exc
from vmctl.images import states as image_states

# Image properties naming other images the guest boots from.
BOOT_FILES = ("kernel_id", "ramdisk_id")


def ref_id(ref):
    """An id, or the last path segment of a URL given as a reference."""
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


def image(api, session, ref, field="imageRef"):
    """The active image ``ref`` names, and its boot files, as the caller
    sees them; 400 naming ``field`` otherwise."""
    image_id = ref_id(ref)
    row = _visible_image(api, session, image_id)
    if row is None:
        raise errors.BadRequest("Can not find requested image %s (%s)." % (image_id, field))
    if row.status != image_states.ACTIVE:
        raise errors.BadRequest("Image %s is not active (%s)." % (image_id, field))
    for prop in BOOT_FILES:
        boot_file = (row.properties or {}).get(prop)
        if boot_file and _visible_image(api, session, boot_file) is None:
            raise errors.BadRequest("Can not find requested image %s (the %s of image %s "
                                    "given as %s)." % (boot_file, prop, image_id, field))
    return row


def _visible_image(api, session, image_id):
    try:
        return db_images.get(session, image_id, project_id=api.project_scope())
    except image_exc.ImageNotFound:
        return None


def flavor(api, session, ref, message="Flavor %s could not be found."):
    """The flavor ``ref`` names if the caller may use it; 400 with
    ``message`` % id otherwise (a private flavor is as one that does not
    exist)."""
    flavor_id = ref_id(ref)
    try:
        return flavors.visible(api, session, flavor_id)
    except exception.FlavorNotFound:
        raise errors.BadRequest(message % flavor_id) from None
