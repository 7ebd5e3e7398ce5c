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
        "max_image_size_gb",
        default=100,
        min=1,
        help="vmctl-api: largest image upload accepted, in GiB.",
    ),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
