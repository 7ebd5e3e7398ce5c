"""vmctl image upload/list/show/delete (the image service, Glance v2-shaped).

``upload`` creates the image record (``POST /v2/images``) and streams the
file in chunks to ``PUT /v2/images/{id}/file`` under a progress bar; an
upload that fails deletes the half-made record.
"""

import os

import click

from vmctl.cli import progress as cli_progress
from vmctl.cli import session as cli_session
from vmctl.cli.app import is_uuid
from vmctl.cli.app import output_options
from vmctl.cli.app import pass_app
from vmctl.cli.app import quote
from vmctl.cli.output import CLIError
from vmctl.cli.servers import parse_properties
from vmctl.image_client import format_inspector

CHUNK_SIZE = 1024 * 1024
DISK_FORMATS = ("qcow2", "raw", "aki", "ari", "iso")
CONTAINER_FORMATS = ("bare", "aki", "ari")

IMAGE_COLUMNS = [
    ("ID", lambda i: i.get("id")),
    ("Name", lambda i: i.get("name")),
    ("Status", lambda i: i.get("status")),
    ("Disk Format", lambda i: i.get("disk_format")),
    ("Size", lambda i: i.get("size")),
    ("Visibility", lambda i: i.get("visibility")),
]


def read_chunks(path, on_chunk, chunk_size=CHUNK_SIZE):
    """The file's bytes, one chunk at a time; ``on_chunk(sent)`` after each."""
    sent = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                return
            sent += len(chunk)
            yield chunk
            on_chunk(sent)


@click.group("image")
def image_group():
    """Images servers boot from."""


def find_image(app, ref):
    if is_uuid(ref):
        return app.session.image("GET", "/images/%s" % quote(ref)).body
    found = app.session.image("GET", "/images", params={"name": ref}).body["images"]
    if len(found) != 1:
        raise CLIError("%s image named %r%s" % (
            "no" if not found else len(found), ref, "" if not found else ": use the id"))
    return found[0]


@image_group.command("list")
@click.option("--name", help="Only images of this name.")
@output_options
@pass_app
def image_list(app, name):
    """List images."""
    images = app.session.image("GET", "/images", params={"name": name}).body["images"]
    app.output.list(IMAGE_COLUMNS, images)


@image_group.command("show")
@click.argument("image")
@output_options
@pass_app
def image_show(app, image):
    """Show an image (name or id)."""
    app.output.record(find_image(app, image))


@image_group.command("delete")
@click.argument("image")
@pass_app
def image_delete(app, image):
    """Delete an image (name or id)."""
    found = find_image(app, image)
    app.session.image("DELETE", "/images/%s" % quote(found["id"]))
    app.output.message("Deleted image %s (%s)." % (found["name"], found["id"]))


@image_group.command("upload")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--name", help="Image name (default: the file's name).")
@click.option("--disk-format", type=click.Choice(DISK_FORMATS),
              help="Default: what the file's header says (qcow2, iso, else raw); the "
              "image service refuses a file whose contents differ from it.")
@click.option("--container-format", type=click.Choice(CONTAINER_FORMATS), default="bare",
              show_default=True)
@click.option("--public", is_flag=True, help="Visible to every project (admin).")
@click.option("--property", "properties", multiple=True, metavar="KEY=VALUE",
              help="Image property (repeatable).")
@output_options
@pass_app
def image_upload(app, path, name, disk_format, container_format, public, properties):
    """Upload a disk image file, with a progress bar."""
    disk_format = disk_format or detected_disk_format(path)
    body = {"name": name or os.path.basename(path), "disk_format": disk_format,
            "container_format": container_format, **parse_properties(properties)}
    if public:
        body["visibility"] = "public"
    image = app.session.image("POST", "/images", body=body).body
    try:
        _send_file(app, image, path)
    except (cli_session.ApiError, OSError, KeyboardInterrupt):
        try:
            app.session.image("DELETE", "/images/%s" % quote(image["id"]))
        except cli_session.ApiError:
            pass
        raise
    app.output.record(app.session.image("GET", "/images/%s" % quote(image["id"])).body)


def detected_disk_format(path):
    """The disk_format a file's header names (the image service's inspector):
    qcow2 or iso as detected, raw for raw data and partitioned disks."""
    try:
        detected = format_inspector.inspect_file(path).format
    except format_inspector.FormatError as exc:
        raise CLIError("%s cannot be uploaded: %s" % (path, exc)) from None
    if detected in ("raw", "gpt", "mbr"):
        return "raw"
    if detected not in DISK_FORMATS:
        raise CLIError("%s is a %s image, which the image service does not take; "
                       "convert it (qemu-img convert -O qcow2)" % (path, detected))
    return detected


def _send_file(app, image, path):
    total = os.path.getsize(path)
    with cli_progress.Progress("upload %s" % image["name"], total=total) as bar:
        def on_chunk(sent):
            bar.update(sent, detail="%s of %s" % (cli_progress.size(sent),
                                                  cli_progress.size(total)))
        bar.update(0, detail="0 B of %s" % cli_progress.size(total))
        app.session.image("PUT", "/images/%s/file" % quote(image["id"]),
                          data=read_chunks(path, on_chunk),
                          headers={"Content-Type": "application/octet-stream",
                                   "Content-Length": str(total)})
