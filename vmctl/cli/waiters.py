"""--wait for server tasks: poll the server, show each status change, end at
the expected status or fail with the reason the API recorded.

A task is over when the server has no task_state; that its status is then
one of the expected ones is what success means (a failed resize rests in
ACTIVE, not VERIFY_RESIZE, and says why in its instance action events).
"""

import time

import click

from vmctl.cli import session as cli_session
from vmctl.cli.app import quote
from vmctl.cli.output import CLIError

POLL_INTERVAL = 0.5


def _status_line(name, server):
    task = server.get("OS-EXT-STS:task_state")
    host = server.get("OS-EXT-SRV-ATTR:host")
    return "server %s: %s%s%s" % (name, server.get("status"), " (%s)" % task if task else "",
                                  " on %s" % host if host else "")


def failure_reason(app, server, request_id=None):
    """The fault of a server in ERROR, or the last failed event of the action."""
    fault = (server.get("fault") or {}).get("message")
    if fault:
        return fault
    if not request_id:
        return None
    try:
        action = app.get("/servers/%s/os-instance-actions/%s" % (
            quote(server["id"]), quote(request_id)))["instanceAction"]
    except cli_session.ApiError:
        return None
    failed = [e for e in action.get("events") or () if e.get("result") == "Error"]
    if failed:
        last = failed[-1]
        return "%s: %s" % (last["event"], last.get("details") or last.get("traceback") or "")
    return None


def wait_for_status(app, server_id, expected, timeout, request_id=None, name=None,
                    echo=None, sleep=time.sleep, clock=time.monotonic):
    """Poll until the server has no task and a status in ``expected``;
    each (status, task) change is echoed. CLIError on ERROR, on another
    resting status, or after ``timeout`` seconds."""
    echo = echo or (lambda line: click.echo(line, err=True))
    deadline = clock() + timeout
    last = None
    while True:
        server = app.get("/servers/%s" % quote(server_id))["server"]
        line = _status_line(name or server.get("name") or server_id, server)
        if line != last:
            echo(line)
            last = line
        task = server.get("OS-EXT-STS:task_state")
        status = server.get("status")
        if status == "ERROR" and "ERROR" not in expected:
            raise CLIError("server %s went to ERROR: %s" % (
                server_id, failure_reason(app, server, request_id) or "no fault recorded"))
        if task is None and status in expected:
            return server
        if task is None and status not in ("BUILD",):
            reason = failure_reason(app, server, request_id)
            raise CLIError("server %s is %s, not %s%s" % (
                server_id, status, " or ".join(expected), ": " + reason if reason else ""))
        if clock() >= deadline:
            raise CLIError("server %s still %s after %ds" % (server_id, status, timeout))
        sleep(POLL_INTERVAL)


def wait_for_deleted(app, server_id, timeout, sleep=time.sleep, clock=time.monotonic):
    deadline = clock() + timeout
    while True:
        try:
            server = app.get("/servers/%s" % quote(server_id))["server"]
        except cli_session.ApiError as exc:
            if exc.status == 404:
                return
            raise
        if server.get("status") == "ERROR":
            raise CLIError("deleting server %s failed: %s" % (
                server_id, failure_reason(app, server) or "no fault recorded"))
        if clock() >= deadline:
            raise CLIError("server %s still exists after %ds" % (server_id, timeout))
        sleep(POLL_INTERVAL)
