"""[service_user] options: the credentials compute agents present to the
other vmctl services (today the image service) when the API authenticates
with tokens (auth_strategy vmctl or keystone)."""

from oslo_config import cfg

GROUP = "service_user"

OPTS = [
    cfg.URIOpt(
        "auth_url",
        help="Identity v3 endpoint the agent gets its tokens from, e.g. "
        "http://controller:8774/identity/v3. Unset: the agent presents "
        "[image] service_token as is (auth_strategy noauth).",
    ),
    cfg.StrOpt("username", default="vmctl-compute",
               help="The service user. It needs the admin role on its project "
               "to read every project's images."),
    cfg.StrOpt("password", secret=True, help="The service user's password."),
    cfg.StrOpt("project_name", default="service",
               help="The project the service user's tokens are scoped to."),
    cfg.StrOpt("user_domain_name", default="Default", help="The service user's domain."),
    cfg.StrOpt("project_domain_name", default="Default", help="The project's domain."),
    cfg.IntOpt("timeout", default=30, min=1,
               help="Seconds a token request may take."),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
