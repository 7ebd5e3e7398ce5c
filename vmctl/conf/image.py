"""[image] options: the image service and the compute's image client."""

from oslo_config import cfg

GROUP = "image"

OPTS = [
    cfg.StrOpt(
        "data_dir",
        default="$state_path/images",
        help="vmctl-api: directory holding the uploaded image files.",
    ),
    cfg.StrOpt(
        "api_url",
        default="http://127.0.0.1:8774/image",
        help="Compute agents: base URL of the image service (the Glance "
        "v2-compatible API served by vmctl-api under /image).",
    ),
    cfg.StrOpt(
        "service_token",
        default="admin:service",
        secret=True,
        help="Compute agents: token they present to the image service (as "
        "X-Auth-Token). It must be allowed to read every image the computes "
        "boot, whatever its project: with auth_strategy=noauth it is "
        "'user:project', and user 'admin' has the admin role.",
    ),
    cfg.IntOpt(
        "download_timeout",
        default=300,
        min=1,
        help="Seconds an image download may take.",
    ),
    cfg.IntOpt(
        "image_size_cap",
        default=1099511627776,
        min=1,
        help="vmctl-api: largest image upload accepted, in bytes (Glance's "
        "option of the same name; default 1 TiB). A declared Content-Length "
        "above it is refused with 413 before anything is read, a chunked "
        "body is cut off with 413 when it passes it.\n\n"
        "Related options: image_stored_total.",
    ),
    cfg.IntOpt(
        "image_count_total",
        default=1000,
        min=-1,
        help="vmctl-api: most images one project may own (every status but "
        "deleted). Creating one more is refused with 413.\n\n"
        "Possible values: -1 (no limit), 0 (no images), a positive count.",
    ),
    cfg.IntOpt(
        "image_stored_total",
        default=1048576,
        min=-1,
        help="vmctl-api: most image data one project may store, in MiB "
        "(sum of the sizes of its images; default 1 TiB). An upload that "
        "would pass it is refused with 413 (before reading when the "
        "Content-Length says so, else when the stream passes it).\n\n"
        "Possible values: -1 (no limit), 0 (no data), a positive size.\n\n"
        "Related options: image_size_cap (per image).",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
