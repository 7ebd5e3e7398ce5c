"""What every command shares: the App (configuration, session, output),
the output options, and name-or-id lookups."""

import functools
import os
import re
import sys
import urllib.parse

import click

from vmctl.cli import config as cli_config
from vmctl.cli import session as cli_session
from vmctl.cli.output import FORMATS
from vmctl.cli.output import CLIError
from vmctl.cli.output import Output

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


class App:
    """The state of one invocation, built from the root group's options."""

    def __init__(self, options, environ=None, debug=False, timeout=60.0, fmt=None):
        self.options = options
        self.environ = os.environ if environ is None else environ
        self.debug = debug
        self.timeout = timeout
        self.fmt = fmt
        self._session = None
        self.output = Output()

    @property
    def session(self):
        if self._session is None:
            try:
                cfg = cli_config.resolve(self.options, self.environ)
            except cli_config.ConfigError as exc:
                raise CLIError(str(exc)) from None
            trace = (lambda line: click.echo(line, err=True)) if self.debug else None
            if trace:
                trace("config: %s" % cfg.describe())
            self._session = cli_session.Session(cfg, timeout=self.timeout, debug=trace)
        return self._session

    def compute(self, method, path, body=None, microversion=None, params=None):
        return self.session.compute(method, path, body=body, microversion=microversion,
                                    params=params)

    def get(self, path, params=None, microversion=None):
        return self.compute("GET", path, params=params, microversion=microversion).body

    def set_output(self, fmt=None, columns=(), json_flag=False):
        fmt = "json" if json_flag or self.fmt == "json" else (fmt or self.fmt or "table")
        self.output = Output(fmt, columns, sys.stdout)
        return self.output


pass_app = click.make_pass_decorator(App)


def output_options(func):
    """-f/--format, -c/--column and --json on a command that prints a result."""
    @click.option("-f", "--format", "fmt", type=click.Choice(FORMATS),
                  help="Output format (default: table).")
    @click.option("-c", "--column", "columns", multiple=True,
                  help="Only this column (repeatable).")
    @click.option("--json", "json_flag", is_flag=True, help="Same as -f json.")
    @functools.wraps(func)
    def wrapper(*args, fmt=None, columns=(), json_flag=False, **kwargs):
        click.get_current_context().find_object(App).set_output(fmt, columns, json_flag)
        return func(*args, **kwargs)
    return wrapper


def wait_options(func):
    """--wait and --timeout."""
    func = click.option("--timeout", type=click.FloatRange(min=1), default=600.0,
                        show_default=True, help="Seconds --wait waits at most.")(func)
    return click.option("--wait", is_flag=True,
                        help="Wait until it is done, showing progress.")(func)


def quote(part):
    return urllib.parse.quote(str(part), safe="")


def is_uuid(text):
    return bool(UUID_RE.match(text or ""))


def find_server(app, ref):
    """The server (detail dict) named or with id ``ref``."""
    if is_uuid(ref):
        return app.get("/servers/%s" % quote(ref))["server"]
    params = {"name": ref}
    found = [s for s in app.get("/servers/detail", params=params)["servers"]
             if s.get("name") == ref]
    if not found:
        try:
            return app.get("/servers/%s" % quote(ref))["server"]
        except cli_session.ApiError:
            raise CLIError("no server named or with id %r" % ref) from None
    if len(found) > 1:
        raise CLIError("%d servers are named %r: use the id" % (len(found), ref))
    return found[0]


def find_flavor(app, ref):
    """The flavor (detail dict) named or with id ``ref`` (names win, as OSC)."""
    flavors = app.get("/flavors/detail")["flavors"]
    for key in ("name", "id"):
        match = [f for f in flavors if str(f.get(key)) == ref]
        if match:
            return match[0]
    raise CLIError("no flavor named or with id %r (see 'vmctl flavor list')" % ref)


def find_image_id(app, ref):
    """An image id from a name or id; unknown refs pass through unchanged
    (a compute's driver may know images the image service does not)."""
    if is_uuid(ref):
        return ref
    try:
        images = app.session.image("GET", "/images", params={"name": ref}).body["images"]
    except cli_session.ApiError:
        return ref
    if len(images) > 1:
        raise CLIError("%d images are named %r: use the id" % (len(images), ref))
    return images[0]["id"] if images else ref
