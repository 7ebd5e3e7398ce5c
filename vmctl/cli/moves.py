"""Moving servers: vmctl server live-migrate / migrate / resize /
confirm-resize / revert-resize / evacuate.

``--wait`` on live-migrate shows a live progress bar (live.py) and ends with
a one-line summary; on the cold moves it shows the status transitions and
ends at the status the move leads to.
"""

import time

import click

from vmctl.cli import live
from vmctl.cli import progress as cli_progress
from vmctl.cli import waiters
from vmctl.cli.app import find_flavor
from vmctl.cli.app import find_server
from vmctl.cli.app import pass_app
from vmctl.cli.app import wait_options
from vmctl.cli.output import CLIError
from vmctl.cli.servers import post_action
from vmctl.cli.servers import server_group

HOST_KEY = "OS-EXT-SRV-ATTR:host"
RESTING = ("ACTIVE", "SHUTOFF")


@server_group.command("live-migrate")
@click.argument("server")
@click.option("--host", help="Destination host (default: the scheduler picks one).")
@click.option("--block", "block", flag_value="true",
              help="Copy the disks too (block migration).")
@click.option("--no-block", "block", flag_value="false",
              help="Shared storage: copy memory only.")
@click.option("--block-auto", "block", flag_value="auto", default=True,
              help="Let vmctl decide (the default).")
@wait_options
@pass_app
def live_migrate(app, server, host, block, wait, timeout):
    """Live-migrate a server (admin)."""
    found = find_server(app, server)
    block_value = {"true": True, "false": False}.get(block, "auto")
    after = live.newest_migration_id(app, found["id"]) if wait else 0
    started = time.monotonic()
    resp = post_action(app, found["id"], "os-migrateLive",
                       {"host": host, "block_migration": block_value})
    if not wait:
        app.output.message("Live migration of %s requested (request %s)."
                           % (found["name"], resp.request_id))
        return
    with cli_progress.Progress("live-migrate %s" % found["name"]) as bar:
        watch = live.LiveWatch(app, found, resp.request_id, after, bar)
        try:
            migration = watch.run(timeout)
        except KeyboardInterrupt:
            bar.note("stopped watching; the migration goes on (vmctl migration list "
                     "--server %s; vmctl migration abort %s ID)" % (found["id"], found["id"]))
            raise
    _live_outcome(app, found, watch, migration, time.monotonic() - started, timeout)


def _live_outcome(app, server, watch, migration, elapsed, timeout):
    if migration["status"] != "completed":
        reason = watch.failure() or "no reason recorded"
        raise CLIError("live migration %s of %s %s: %s" % (
            migration["id"], server["name"], migration["status"], reason))
    moved = waiters.wait_for_status(app, server["id"], (server["status"],), timeout,
                                    request_id=watch.request_id, name=server["name"],
                                    echo=lambda line: None)
    click.echo("live-migrated %s: %s -> %s in %.1f s%s" % (
        server["name"], migration.get("source_compute") or server.get(HOST_KEY),
        moved.get(HOST_KEY), elapsed, _how(watch.figures)))


def _how(figures):
    if figures.switch:
        return ", " + figures.switch
    if figures.downtime_ms is not None:
        return ", allowed downtime %d ms" % figures.downtime_ms
    return ""


def _cold_move(app, server, key, value, expected, wait, timeout, verb):
    resp = post_action(app, server["id"], key, value)
    if not wait:
        app.output.message("%s of %s requested." % (verb, server["name"]))
        return
    moved = waiters.wait_for_status(app, server["id"], expected, timeout,
                                    request_id=resp.request_id, name=server["name"])
    click.echo("%s %s: %s on %s" % (verb, server["name"], moved["status"],
                                    moved.get(HOST_KEY)))


@server_group.command("migrate")
@click.argument("server")
@click.option("--host", help="Destination host (API microversion 2.56).")
@wait_options
@pass_app
def migrate(app, server, host, wait, timeout):
    """Cold-migrate a server (admin); confirm or revert it afterwards."""
    found = find_server(app, server)
    _cold_move(app, found, "migrate", {"host": host} if host else None, ("VERIFY_RESIZE",),
               wait, timeout, "migrated")


@server_group.command("resize")
@click.argument("server")
@click.argument("flavor")
@wait_options
@pass_app
def resize(app, server, flavor, wait, timeout):
    """Resize a server to another flavor; confirm or revert it afterwards."""
    found = find_server(app, server)
    flavor_id = find_flavor(app, flavor)["id"]
    _cold_move(app, found, "resize", {"flavorRef": flavor_id}, ("VERIFY_RESIZE",), wait,
               timeout, "resized")


@server_group.command("confirm-resize")
@click.argument("server")
@wait_options
@pass_app
def confirm_resize(app, server, wait, timeout):
    """Confirm a migrate or resize (the source's copy is deleted)."""
    found = find_server(app, server)
    _cold_move(app, found, "confirmResize", None, RESTING, wait, timeout, "confirmed")


@server_group.command("revert-resize")
@click.argument("server")
@wait_options
@pass_app
def revert_resize(app, server, wait, timeout):
    """Revert a migrate or resize (back to the source, as it was)."""
    found = find_server(app, server)
    _cold_move(app, found, "revertResize", None, RESTING, wait, timeout, "reverted")


@server_group.command("evacuate")
@click.argument("server")
@click.option("--host", help="Destination host (default: the scheduler picks one).")
@wait_options
@pass_app
def evacuate(app, server, host, wait, timeout):
    """Rebuild a server of a down host on another host (admin)."""
    found = find_server(app, server)
    _cold_move(app, found, "evacuate", {"host": host} if host else {}, RESTING, wait,
               timeout, "evacuated")
