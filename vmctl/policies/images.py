"""Policies of the image service (/image/v2/images), named as Glance's.

The target of a per-image rule is ``{"project_id": <owner>, "visibility":
<visibility>}``. Handlers scope lookups too: another project's private or
shared image is a 404, and a read denied by policy is a 404 as well.
"""

from vmctl.policies import base

GET = "get_image"
LIST = "get_images"
ADD = "add_image"
UPLOAD = "upload_image"
DOWNLOAD = "download_image"
MODIFY = "modify_image"
DELETE = "delete_image"
PUBLICIZE = "publicize_image"
COMMUNITIZE = "communitize_image"

READ_ANY = "get_image_of_any_project"

# Readers of the owner's project, or anyone for public and community images;
# the compute hosts' service users (role service) fetch every project's.
READ_IMAGE = ("rule:context_is_admin or role:service or (role:reader and "
              "(project_id:%(project_id)s or 'public':%(visibility)s or "
              "'community':%(visibility)s))")

IMAGES = "/image/v2/images"
IMAGE = IMAGES + "/{image_id}"

RULES = [
    base.api_rule(GET, READ_IMAGE, "Show an image", [("GET", IMAGE)]),
    base.api_rule(READ_ANY, "rule:context_is_admin or role:service",
                  "Show and download the images of every project by id (the "
                  "computes' service user fetches the images servers boot from; "
                  "the API checked the caller may use them)",
                  [("GET", IMAGE), ("GET", IMAGE + "/file")]),
    base.api_rule(LIST, base.PROJECT_READER_OR_ADMIN, "List images",
                  [("GET", IMAGES)]),
    base.api_rule(ADD, base.PROJECT_MEMBER_OR_ADMIN,
                  "Create an image (target: the owner project)",
                  [("POST", IMAGES)]),
    base.api_rule(UPLOAD, base.PROJECT_MEMBER_OR_ADMIN, "Upload image data",
                  [("PUT", IMAGE + "/file")]),
    base.api_rule(DOWNLOAD, READ_IMAGE, "Download image data",
                  [("GET", IMAGE + "/file")]),
    base.api_rule(MODIFY, base.PROJECT_MEMBER_OR_ADMIN, "Update an image",
                  [("PATCH", IMAGE)]),
    base.api_rule(DELETE, base.PROJECT_MEMBER_OR_ADMIN, "Delete an image",
                  [("DELETE", IMAGE)]),
    base.api_rule(PUBLICIZE, base.ADMIN, "Make an image public",
                  [("POST", IMAGES), ("PATCH", IMAGE)]),
    base.api_rule(COMMUNITIZE, base.PROJECT_MEMBER_OR_ADMIN,
                  "Make an image a community image",
                  [("POST", IMAGES), ("PATCH", IMAGE)]),
]


def list_rules():
    return RULES
