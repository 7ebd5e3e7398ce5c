"""vmctl flavor list/show/create."""

import click

from vmctl.cli.app import find_flavor
from vmctl.cli.app import output_options
from vmctl.cli.app import pass_app
from vmctl.cli.app import quote
from vmctl.cli.servers import parse_properties

FLAVOR_COLUMNS = [
    ("ID", lambda f: f.get("id")),
    ("Name", lambda f: f.get("name")),
    ("vCPUs", lambda f: f.get("vcpus")),
    ("RAM", lambda f: f.get("ram")),
    ("Disk", lambda f: f.get("disk")),
    ("Ephemeral", lambda f: f.get("OS-FLV-EXT-DATA:ephemeral")),
    ("Public", lambda f: f.get("os-flavor-access:is_public")),
]


@click.group("flavor")
def flavor_group():
    """Flavors: the sizes servers come in."""


@flavor_group.command("list")
@output_options
@pass_app
def flavor_list(app):
    """List flavors."""
    app.output.list(FLAVOR_COLUMNS, app.get("/flavors/detail")["flavors"])


@flavor_group.command("show")
@click.argument("flavor")
@output_options
@pass_app
def flavor_show(app, flavor):
    """Show a flavor (name or id), with its extra specs."""
    found = find_flavor(app, flavor)
    app.output.record(app.get("/flavors/%s" % quote(found["id"]))["flavor"])


@flavor_group.command("create")
@click.argument("name")
@click.option("--id", "flavor_id", help="Flavor id (default: a generated uuid).")
@click.option("--vcpus", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--ram", type=click.IntRange(min=1), default=256, show_default=True,
              help="Memory in MiB.")
@click.option("--disk", type=click.IntRange(min=0), default=0, show_default=True,
              help="Root disk in GB.")
@click.option("--ephemeral", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--swap", type=click.IntRange(min=0), default=0, show_default=True,
              help="Swap in MiB.")
@click.option("--private", is_flag=True, help="Not public.")
@click.option("--property", "properties", multiple=True, metavar="KEY=VALUE",
              help="Extra spec, e.g. migration:policy=adaptive (repeatable).")
@output_options
@pass_app
def flavor_create(app, name, flavor_id, vcpus, ram, disk, ephemeral, swap, private,
                  properties):
    """Create a flavor (admin)."""
    body = {"name": name, "vcpus": vcpus, "ram": ram, "disk": disk,
            "OS-FLV-EXT-DATA:ephemeral": ephemeral, "swap": swap,
            "os-flavor-access:is_public": not private}
    if flavor_id:
        body["id"] = flavor_id
    specs = parse_properties(properties)
    created = app.compute("POST", "/flavors", body={"flavor": body}).body["flavor"]
    if specs:
        app.compute("POST", "/flavors/%s/os-extra_specs" % quote(created["id"]),
                    body={"extra_specs": specs})
        created = app.get("/flavors/%s" % quote(created["id"]))["flavor"]
    app.output.record(created)
