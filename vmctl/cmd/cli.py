"""vmctl: a minimal command-line client of the vmctl compute API.

    vmctl [--url URL] [--token USER:PROJECT] [--json] RESOURCE ACTION ...

    vmctl server list | show ID | create NAME --flavor F --image I [--wait] | delete ID
    vmctl flavor list
    vmctl service list
    vmctl hypervisor list

The endpoint comes from ``VMCTL_URL`` (default http://127.0.0.1:8774), the
noauth token from ``VMCTL_TOKEN`` (default ``admin:admin``) and the
microversion from ``VMCTL_API_VERSION`` (default 2.88). Output is a table,
or the API's JSON with ``--json``. Any failure is one line on stderr and
exit code 1. Only the standard library is used (urllib), so the client
adds no runtime dependency.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8774"
DEFAULT_TOKEN = "admin:admin"
DEFAULT_API_VERSION = "2.88"
PROG = "vmctl"


class CLIError(Exception):
    """A failure reported as one line on stderr (exit code 1)."""


# --- HTTP --------------------------------------------------------------------

class Client:
    """Talks JSON to the API under ``<url>/v2.1``."""

    def __init__(self, url, token, api_version, timeout=30.0):
        self.base = url.rstrip("/")
        if not self.base.endswith("/v2.1"):
            self.base += "/v2.1"
        self.token = token
        self.api_version = api_version
        self.timeout = timeout

    def request(self, method, path, body=None):
        """Send one request; the decoded JSON body (None when empty)."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base + path, data=data, method=method)
        # No Accept header: the API answers JSON anyway (and, for now,
        # refuses "Accept: application/json" with a 406).
        req.add_header("X-Auth-Token", self.token)
        req.add_header("OpenStack-API-Version", "compute %s" % self.api_version)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise CLIError(error_message(exc.code, exc.read())) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CLIError("cannot reach %s: %s" % (self.base, reason)) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise CLIError("%s %s: the API answered with something that is not JSON"
                           % (method, path)) from None

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body):
        return self.request("POST", path, body)

    def delete(self, path):
        return self.request("DELETE", path)


def error_message(status, raw):
    """One line from a Nova-shaped error body: ``{"itemNotFound": {...}}``."""
    try:
        body = json.loads(raw)
    except (ValueError, TypeError):
        body = None
    if isinstance(body, dict) and len(body) == 1:
        kind, detail = next(iter(body.items()))
        if isinstance(detail, dict) and "message" in detail:
            return "%s %s: %s" % (status, kind, detail["message"])
    text = raw.decode("utf-8", "replace").strip() if isinstance(raw, bytes) else ""
    return "HTTP %s%s" % (status, ": " + text.splitlines()[0] if text else "")


# --- output ------------------------------------------------------------------

def cell(value):
    """How one value reads in a table cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def format_table(headers, rows):
    """A bordered table, like the OpenStack client's."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values):
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"

    out = [rule, line(headers), rule]
    out.extend(line(row) for row in cells)
    out.append(rule)
    return "\n".join(out)


def format_record(record):
    """A two-column Field/Value table of one object, fields sorted."""
    return format_table(["Field", "Value"], sorted(record.items()))


def server_flavor(server):
    """The flavor name (embedded from 2.47) or id of a server."""
    flavor = server.get("flavor") or {}
    return flavor.get("original_name") or flavor.get("id") or ""


# Columns of each list: (header, function of the item).
SERVER_COLUMNS = [
    ("ID", lambda s: s.get("id")),
    ("Name", lambda s: s.get("name")),
    ("Status", lambda s: s.get("status")),
    ("Task State", lambda s: s.get("OS-EXT-STS:task_state")),
    ("Host", lambda s: s.get("OS-EXT-SRV-ATTR:host")),
    ("Flavor", server_flavor),
    ("Image", lambda s: (s.get("image") or {}).get("id")),
]
FLAVOR_COLUMNS = [
    ("ID", lambda f: f.get("id")),
    ("Name", lambda f: f.get("name")),
    ("vCPUs", lambda f: f.get("vcpus")),
    ("RAM", lambda f: f.get("ram")),
    ("Disk", lambda f: f.get("disk")),
    ("Ephemeral", lambda f: f.get("OS-FLV-EXT-DATA:ephemeral")),
    ("Public", lambda f: f.get("os-flavor-access:is_public")),
]
SERVICE_COLUMNS = [
    ("ID", lambda s: s.get("id")),
    ("Binary", lambda s: s.get("binary")),
    ("Host", lambda s: s.get("host")),
    ("Zone", lambda s: s.get("zone")),
    ("Status", lambda s: s.get("status")),
    ("State", lambda s: s.get("state")),
    ("Updated At", lambda s: s.get("updated_at")),
]
HYPERVISOR_COLUMNS = [
    ("ID", lambda h: h.get("id")),
    ("Hypervisor Hostname", lambda h: h.get("hypervisor_hostname")),
    ("Type", lambda h: h.get("hypervisor_type")),
    ("Host IP", lambda h: h.get("host_ip")),
    ("State", lambda h: h.get("state")),
    ("Status", lambda h: h.get("status")),
]
# Usage fields, present in os-hypervisors/detail before microversion 2.88.
HYPERVISOR_USAGE_COLUMNS = [
    ("vCPUs Used", lambda h: "%s/%s" % (h.get("vcpus_used"), h.get("vcpus"))),
    ("RAM Used (MiB)", lambda h: "%s/%s" % (h.get("memory_mb_used"), h.get("memory_mb"))),
    ("VMs", lambda h: h.get("running_vms")),
]


def list_table(columns, items):
    return format_table([c[0] for c in columns], [[f(i) for _, f in columns] for i in items])


def hypervisor_columns(hypervisors):
    if hypervisors and all("vcpus" in h for h in hypervisors):
        return HYPERVISOR_COLUMNS + HYPERVISOR_USAGE_COLUMNS
    return HYPERVISOR_COLUMNS


# --- commands ----------------------------------------------------------------

def server_list(client, args):
    body = client.get("/servers/detail")
    return body, list_table(SERVER_COLUMNS, body.get("servers", []))


def server_show(client, args):
    body = client.get("/servers/%s" % quote(args.server))
    return body, format_record(body["server"])


def resolve_flavor(client, ref):
    """A flavor id from a name or an id (names win, as in the OpenStack client)."""
    flavors = client.get("/flavors").get("flavors", [])
    for flavor in flavors:
        if flavor.get("name") == ref:
            return flavor["id"]
    for flavor in flavors:
        if str(flavor.get("id")) == ref:
            return flavor["id"]
    raise CLIError("no flavor named or with id %r (see 'vmctl flavor list')" % ref)


def server_create(client, args):
    flavor_id = resolve_flavor(client, args.flavor)
    request = {"server": {"name": args.name, "flavorRef": flavor_id,
                          "imageRef": args.image}}
    created = client.post("/servers", request)["server"]
    if not args.wait:
        return {"server": created}, format_record(
            {"id": created["id"], "name": args.name, "status": "BUILD"})
    server = wait_for_server(client, created["id"], ("ACTIVE",), args.timeout)
    return {"server": server}, format_record(server)


def wait_for_server(client, server_id, statuses, timeout, interval=0.5,
                    clock=time.monotonic, sleep=time.sleep):
    """Poll until the server reaches one of ``statuses``; ERROR fails."""
    deadline = clock() + timeout
    while True:
        server = client.get("/servers/%s" % quote(server_id))["server"]
        status = server.get("status")
        if status in statuses:
            return server
        if status == "ERROR":
            fault = (server.get("fault") or {}).get("message", "no fault recorded")
            raise CLIError("server %s went to ERROR: %s" % (server_id, fault))
        if clock() >= deadline:
            raise CLIError("server %s still %s after %ss" % (server_id, status, timeout))
        sleep(interval)


def server_delete(client, args):
    client.delete("/servers/%s" % quote(args.server))
    return None, "Deleting server %s." % args.server


def flavor_list(client, args):
    body = client.get("/flavors/detail")
    return body, list_table(FLAVOR_COLUMNS, body.get("flavors", []))


def service_list(client, args):
    body = client.get("/os-services")
    return body, list_table(SERVICE_COLUMNS, body.get("services", []))


def hypervisor_list(client, args):
    body = client.get("/os-hypervisors/detail")
    hypervisors = body.get("hypervisors", [])
    return body, list_table(hypervisor_columns(hypervisors), hypervisors)


def quote(path_part):
    return urllib.parse.quote(str(path_part), safe="")


# --- argument parsing --------------------------------------------------------

class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 1."""

    def error(self, message):
        self.exit(1, "%s: error: %s (see '%s --help')\n" % (self.prog, message, self.prog))


def build_parser(environ=None):
    env = os.environ if environ is None else environ
    parser = Parser(prog=PROG, description="Minimal client of the vmctl compute API.")
    parser.add_argument("--url", default=env.get("VMCTL_URL", DEFAULT_URL),
                        help="API endpoint (env VMCTL_URL, default %(default)s)")
    parser.add_argument("--token", default=env.get("VMCTL_TOKEN", DEFAULT_TOKEN),
                        help="noauth token USER:PROJECT (env VMCTL_TOKEN, default admin:admin)")
    parser.add_argument("--api-version",
                        default=env.get("VMCTL_API_VERSION", DEFAULT_API_VERSION),
                        help="compute microversion (env VMCTL_API_VERSION, default %(default)s)")
    parser.add_argument("--json", action="store_true", default=False,
                        help="print the API's JSON instead of a table")
    # --json is accepted after the action too ("vmctl server list --json").
    leaf = argparse.ArgumentParser(add_help=False)
    leaf.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                      help="print the API's JSON instead of a table")

    resources = parser.add_subparsers(dest="resource", metavar="RESOURCE",
                                      parser_class=Parser)
    resources.required = True

    server = resources.add_parser("server", help="servers")
    actions = server.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    actions.required = True
    actions.add_parser("list", parents=[leaf], help="list servers").set_defaults(
        func=server_list)
    show = actions.add_parser("show", parents=[leaf], help="show one server")
    show.add_argument("server", metavar="ID")
    show.set_defaults(func=server_show)
    create = actions.add_parser("create", parents=[leaf], help="boot a server")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--flavor", required=True, help="flavor name or id")
    create.add_argument("--image", required=True, help="image id")
    create.add_argument("--wait", action="store_true", help="wait until ACTIVE")
    create.add_argument("--timeout", type=float, default=300.0,
                        help="seconds --wait waits (default %(default)s)")
    create.set_defaults(func=server_create)
    delete = actions.add_parser("delete", parents=[leaf], help="delete a server")
    delete.add_argument("server", metavar="ID")
    delete.set_defaults(func=server_delete)

    for name, help_text, func in (("flavor", "flavors", flavor_list),
                                  ("service", "services (admin)", service_list),
                                  ("hypervisor", "hypervisors (admin)", hypervisor_list)):
        res = resources.add_parser(name, help=help_text)
        res_actions = res.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
        res_actions.required = True
        res_actions.add_parser("list", parents=[leaf], help="list " + help_text).set_defaults(
            func=func)
    return parser


def main(argv=None, environ=None, stdout=None, stderr=None):
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    args = build_parser(environ).parse_args(argv)
    client = Client(args.url, args.token, args.api_version)
    try:
        body, table = args.func(client, args)
    except CLIError as exc:
        print("%s: error: %s" % (PROG, exc), file=stderr)
        return 1
    except KeyboardInterrupt:
        print("%s: interrupted" % PROG, file=stderr)
        return 1
    if args.json:
        if body is not None:
            print(json.dumps(body, indent=2, sort_keys=True), file=stdout)
    elif table:
        print(table, file=stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
