"""vmctl server create/list/show/delete, the power actions, console-log and
the instance actions (``server event list/show``)."""

import click

from vmctl.cli import waiters
from vmctl.cli.app import find_flavor
from vmctl.cli.app import find_image_id
from vmctl.cli.app import find_server
from vmctl.cli.app import output_options
from vmctl.cli.app import pass_app
from vmctl.cli.app import quote
from vmctl.cli.app import wait_options

# The microversion that lets a create name its host ("host" in the body).
CREATE_HOST_VERSION = "2.74"


def server_flavor(server):
    """The flavor name (embedded from 2.47) or id of a server."""
    flavor = server.get("flavor") or {}
    return flavor.get("original_name") or flavor.get("id") or ""


def server_image(server):
    image = server.get("image")
    return image.get("id") if isinstance(image, dict) else (image or "")


SERVER_COLUMNS = [
    ("ID", lambda s: s.get("id")),
    ("Name", lambda s: s.get("name")),
    ("Status", lambda s: s.get("status")),
    ("Task State", lambda s: s.get("OS-EXT-STS:task_state")),
    ("Host", lambda s: s.get("OS-EXT-SRV-ATTR:host")),
    ("Flavor", server_flavor),
    ("Image", server_image),
]
ACTION_COLUMNS = [
    ("Request ID", lambda a: a.get("request_id")),
    ("Action", lambda a: a.get("action")),
    ("Start Time", lambda a: a.get("start_time")),
    ("Message", lambda a: a.get("message")),
]
EVENT_COLUMNS = [
    ("Event", lambda e: e.get("event")),
    ("Result", lambda e: e.get("result")),
    ("Start Time", lambda e: e.get("start_time")),
    ("Finish Time", lambda e: e.get("finish_time")),
    ("Host", lambda e: e.get("host")),
    ("Details", lambda e: e.get("details")),
]

# command -> (action body key, its value, the status it ends in, help)
POWER_ACTIONS = {
    "start": ("os-start", None, ("ACTIVE",), "Power a stopped server on."),
    "stop": ("os-stop", None, ("SHUTOFF",), "Power a server off."),
    "pause": ("pause", None, ("PAUSED",), "Pause a server (its memory stays in RAM)."),
    "unpause": ("unpause", None, ("ACTIVE",), "Unpause a paused server."),
    "suspend": ("suspend", None, ("SUSPENDED",), "Suspend a server."),
    "resume": ("resume", None, ("ACTIVE",), "Resume a suspended server."),
}


@click.group("server")
def server_group():
    """Servers (virtual machines)."""


def post_action(app, server_id, key, value):
    """POST /servers/{id}/action {key: value}; the response."""
    return app.compute("POST", "/servers/%s/action" % quote(server_id), body={key: value})


def show_server(app, server):
    app.output.record(server)


@server_group.command("list")
@click.option("--all-projects", is_flag=True, help="Servers of every project (admin).")
@click.option("--host", help="Only servers on this host (admin).")
@click.option("--status", help="Only servers in this status (ACTIVE, SHUTOFF, ...).")
@click.option("--name", help="Only servers whose name contains this.")
@output_options
@pass_app
def server_list(app, all_projects, host, status, name):
    """List servers."""
    params = {"all_tenants": "1" if all_projects else None, "host": host,
              "status": status.upper() if status else None, "name": name}
    servers = app.get("/servers/detail", params=params)["servers"]
    app.output.list(SERVER_COLUMNS, servers)


@server_group.command("show")
@click.argument("server")
@output_options
@pass_app
def server_show(app, server):
    """Show one server (name or id)."""
    show_server(app, find_server(app, server))


@server_group.command("create")
@click.argument("name")
@click.option("--flavor", required=True, help="Flavor name or id.")
@click.option("--image", required=True, help="Image name or id.")
@click.option("--host", help="Boot on this host (admin; API microversion 2.74).")
@click.option("--availability-zone", help="Boot in this availability zone.")
@click.option("--property", "properties", multiple=True, metavar="KEY=VALUE",
              help="Metadata of the server (repeatable).")
@wait_options
@output_options
@pass_app
def server_create(app, name, flavor, image, host, availability_zone, properties, wait,
                  timeout):
    """Boot a server."""
    body = {"name": name, "flavorRef": find_flavor(app, flavor)["id"],
            "imageRef": find_image_id(app, image)}
    if availability_zone:
        body["availability_zone"] = availability_zone
    if properties:
        body["metadata"] = parse_properties(properties)
    if host:
        body["host"] = host
    resp = app.compute("POST", "/servers", body={"server": body},
                       microversion=CREATE_HOST_VERSION if host else None)
    server_id = resp.body["server"]["id"]
    if wait:
        server = waiters.wait_for_status(app, server_id, ("ACTIVE",), timeout,
                                         request_id=resp.request_id, name=name)
    else:
        server = app.get("/servers/%s" % quote(server_id))["server"]
    show_server(app, server)


def parse_properties(items):
    metadata = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter("expected KEY=VALUE, got %r" % item,
                                     param_hint="'--property'")
        metadata[key] = value
    return metadata


@server_group.command("delete")
@click.argument("servers", nargs=-1, required=True)
@wait_options
@pass_app
def server_delete(app, servers, wait, timeout):
    """Delete servers (names or ids)."""
    found = [find_server(app, ref) for ref in servers]
    for server in found:
        app.compute("DELETE", "/servers/%s" % quote(server["id"]))
    for server in found:
        if wait:
            waiters.wait_for_deleted(app, server["id"], timeout)
        app.output.message("Deleted server %s (%s)." % (server["name"], server["id"])
                           if wait else "Deleting server %s (%s)." % (server["name"],
                                                                       server["id"]))


def _power_command(name, key, value, statuses, help_text):
    @server_group.command(name, help=help_text)
    @click.argument("server")
    @wait_options
    @pass_app
    def command(app, server, wait, timeout):
        run_action(app, server, key, value, statuses, wait, timeout)
    return command


def run_action(app, ref, key, value, statuses, wait, timeout):
    server = find_server(app, ref)
    resp = post_action(app, server["id"], key, value)
    if wait:
        waiters.wait_for_status(app, server["id"], statuses, timeout,
                                request_id=resp.request_id, name=server["name"])


for _name, (_key, _value, _statuses, _help) in POWER_ACTIONS.items():
    _power_command(_name, _key, _value, _statuses, _help)


@server_group.command("reboot")
@click.argument("server")
@click.option("--hard", is_flag=True, help="Power-cycle instead of asking the guest.")
@wait_options
@pass_app
def server_reboot(app, server, hard, wait, timeout):
    """Reboot a server."""
    run_action(app, server, "reboot", {"type": "HARD" if hard else "SOFT"}, ("ACTIVE",),
               wait, timeout)


@server_group.command("console-log")
@click.argument("server")
@click.option("--lines", type=int, help="Only the last N lines.")
@pass_app
def server_console_log(app, server, lines):
    """Print the server's serial console output."""
    found = find_server(app, server)
    value = {"length": lines} if lines is not None else {}
    output = post_action(app, found["id"], "os-getConsoleOutput", value).body["output"]
    click.echo(output, nl=not output.endswith("\n"))


@server_group.group("event")
def event_group():
    """What happened to a server: its instance actions and their events."""


@event_group.command("list")
@click.argument("server")
@output_options
@pass_app
def event_list(app, server):
    """List a server's actions, newest first."""
    found = find_server(app, server)
    actions = app.get("/servers/%s/os-instance-actions" % quote(found["id"]))
    app.output.list(ACTION_COLUMNS, actions["instanceActions"])


@event_group.command("show")
@click.argument("server")
@click.argument("request_id")
@output_options
@pass_app
def event_show(app, server, request_id):
    """Show one action of a server and its events."""
    found = find_server(app, server)
    action = app.get("/servers/%s/os-instance-actions/%s" % (
        quote(found["id"]), quote(request_id)))["instanceAction"]
    if app.output.fmt == "table" and not app.output.columns:
        app.output.record({k: v for k, v in action.items() if k != "events"})
        app.output.list(EVENT_COLUMNS, action.get("events") or [])
    else:
        app.output.record(action)
