"""Where the CLI's cloud comes from: clouds.yaml, ``OS_*`` variables, options.

The same sources as the OpenStack client, merged in this order (later wins):

1. the cloud named by ``--os-cloud`` / ``OS_CLOUD`` in the first clouds.yaml
   found (``$OS_CLIENT_CONFIG_FILE``, ``./clouds.yaml``,
   ``~/.config/openstack/clouds.yaml``, ``/etc/openstack/clouds.yaml``),
   with the same cloud of a ``secure.yaml`` beside it merged in;
2. ``OS_*`` environment variables;
3. ``--os-*`` options.

The result is a ``CloudConfig``; nothing here talks to the network.
"""

import dataclasses
import os

import yaml

DEFAULT_COMPUTE_API_VERSION = "2.88"
DEFAULT_INTERFACE = "public"
DEFAULT_DOMAIN = "Default"
AUTH_TYPES = ("password", "token", "admin_token", "noauth")

# auth key -> the OS_* variable that sets it (and the --os-* option named alike).
AUTH_VARS = {
    "auth_url": "OS_AUTH_URL",
    "username": "OS_USERNAME",
    "password": "OS_PASSWORD",
    "project_name": "OS_PROJECT_NAME",
    "project_id": "OS_PROJECT_ID",
    "user_domain_name": "OS_USER_DOMAIN_NAME",
    "user_domain_id": "OS_USER_DOMAIN_ID",
    "project_domain_name": "OS_PROJECT_DOMAIN_NAME",
    "project_domain_id": "OS_PROJECT_DOMAIN_ID",
    "token": "OS_TOKEN",
    "endpoint": "OS_ENDPOINT",
}
# top-level key -> OS_* variable.
CLOUD_VARS = {
    "auth_type": "OS_AUTH_TYPE",
    "region_name": "OS_REGION_NAME",
    "interface": "OS_INTERFACE",
    "compute_api_version": "OS_COMPUTE_API_VERSION",
}
# The old minimal client's variables: a noauth endpoint and token.
LEGACY_URL_VAR = "VMCTL_URL"
LEGACY_TOKEN_VAR = "VMCTL_TOKEN"


class ConfigError(Exception):
    """The configuration is missing something or cannot be read."""


@dataclasses.dataclass(frozen=True)
class CloudConfig:
    auth_type: str
    auth: dict
    region_name: str | None = None
    interface: str = DEFAULT_INTERFACE
    compute_api_version: str = DEFAULT_COMPUTE_API_VERSION
    cloud: str | None = None
    source: str | None = None  # the clouds.yaml it came from, if any

    def describe(self):
        """A line naming where the configuration came from (no secrets)."""
        where = ("cloud %r of %s" % (self.cloud, self.source) if self.cloud
                 else "OS_* variables and options")
        return "%s, auth type %s" % (where, self.auth_type)


def config_files(environ, name="clouds.yaml", env_var="OS_CLIENT_CONFIG_FILE"):
    """Candidate paths of clouds.yaml (or secure.yaml), first wins."""
    paths = []
    if environ.get(env_var):
        paths.append(environ[env_var])
    home = environ.get("HOME") or os.path.expanduser("~")
    paths += [os.path.join(os.getcwd(), name),
              os.path.join(home, ".config", "openstack", name),
              os.path.join("/etc/openstack", name)]
    return paths


def _load_yaml(path):
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except OSError as exc:
        raise ConfigError("cannot read %s: %s" % (path, exc.strerror)) from None
    except yaml.YAMLError as exc:
        raise ConfigError("%s is not valid YAML: %s" % (path, str(exc).splitlines()[0])) \
            from None
    if not isinstance(data, dict):
        raise ConfigError("%s: expected a mapping with a 'clouds' key" % path)
    return data


def _first_existing(paths):
    return next((p for p in paths if p and os.path.isfile(p)), None)


def merge(base, override):
    """A deep merge of two dicts (``override`` wins); inputs are untouched."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def load_cloud(name, environ):
    """(the cloud's dict, the clouds.yaml path) for cloud ``name``."""
    path = _first_existing(config_files(environ))
    if path is None:
        raise ConfigError("cloud %r requested but no clouds.yaml found (looked in %s)"
                          % (name, ", ".join(config_files(environ))))
    clouds = _load_yaml(path).get("clouds") or {}
    if name not in clouds:
        raise ConfigError("cloud %r is not in %s (it has: %s)"
                          % (name, path, ", ".join(sorted(clouds)) or "none"))
    cloud = clouds[name] or {}
    secure = _first_existing(config_files(environ, "secure.yaml", "OS_CLIENT_SECURE_FILE"))
    if secure is not None:
        cloud = merge(cloud, (_load_yaml(secure).get("clouds") or {}).get(name) or {})
    return cloud, path


def _from_environ(environ):
    auth = {k: environ[v] for k, v in AUTH_VARS.items() if environ.get(v)}
    top = {k: environ[v] for k, v in CLOUD_VARS.items() if environ.get(v)}
    return top, auth


def _from_options(options):
    """``options``: {auth or cloud key: value or None} from --os-* options."""
    auth = {k: v for k, v in options.items() if k in AUTH_VARS and v is not None}
    top = {k: v for k, v in options.items() if k in CLOUD_VARS and v is not None}
    return top, auth


def resolve(options, environ):
    """The CloudConfig from options (``{"cloud": ..., "auth_url": ...}``),
    the environment and clouds.yaml."""
    name = options.get("cloud") or environ.get("OS_CLOUD")
    cloud, source = ({}, None) if not name else load_cloud(name, environ)
    merged = {k: v for k, v in cloud.items() if k != "auth"}
    auth = dict(cloud.get("auth") or {})
    for top, more in (_from_environ(environ), _from_options(options)):
        merged.update(top)
        auth.update(more)
    if not name and not auth and environ.get(LEGACY_URL_VAR):
        merged.setdefault("auth_type", "noauth")
        auth = {"endpoint": environ[LEGACY_URL_VAR],
                "token": environ.get(LEGACY_TOKEN_VAR) or "admin:admin"}
    auth_type = merged.get("auth_type") or infer_auth_type(auth)
    check(auth_type, auth)
    return CloudConfig(
        auth_type=auth_type, auth=auth, region_name=merged.get("region_name"),
        interface=_interface(merged.get("interface")),
        compute_api_version=str(merged.get("compute_api_version")
                                or DEFAULT_COMPUTE_API_VERSION),
        cloud=name, source=source)


def _interface(value):
    value = (value or DEFAULT_INTERFACE).lower()
    return value[:-3] if value.endswith("url") else value  # publicURL -> public


def infer_auth_type(auth):
    if auth.get("token") and auth.get("endpoint") and not auth.get("auth_url"):
        return "token"
    if auth.get("auth_url"):
        return "password"
    if auth.get("endpoint"):
        return "noauth"
    raise ConfigError("no cloud configured: use --os-cloud / OS_CLOUD with a clouds.yaml, "
                      "or set OS_AUTH_URL, OS_USERNAME, OS_PASSWORD and OS_PROJECT_NAME "
                      "(see doc/cli.md)")


_REQUIRED = {
    "password": ("auth_url", "username", "password"),
    "token": ("token", "endpoint"),
    "admin_token": ("token", "endpoint"),
    "noauth": ("endpoint",),
}


def check(auth_type, auth):
    if auth_type not in AUTH_TYPES:
        raise ConfigError("auth type %r is not supported (use one of %s)"
                          % (auth_type, ", ".join(AUTH_TYPES)))
    missing = [k for k in _REQUIRED[auth_type] if not auth.get(k)]
    if auth_type == "password" and not (auth.get("project_name") or auth.get("project_id")):
        missing.append("project_name or project_id")
    if missing:
        raise ConfigError("auth type %s needs %s (set in clouds.yaml 'auth', as OS_* "
                          "variables or --os-* options)" % (auth_type, ", ".join(missing)))
