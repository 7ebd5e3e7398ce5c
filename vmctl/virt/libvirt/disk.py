"""qemu-img helpers: probe an image, create a qcow2 overlay on a base image,
convert and grow images."""

import json
import logging
import os
import subprocess

from vmctl.image_client import format_inspector

LOG = logging.getLogger(__name__)

QEMU_IMG = "qemu-img"
TIMEOUT = 120
GiB = 1024 ** 3


class DiskError(Exception):
    """A qemu-img command failed; the message is safe to show users."""


def _run(args, timeout=TIMEOUT):
    try:
        proc = subprocess.run([QEMU_IMG] + args, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise DiskError("%s is not installed" % QEMU_IMG) from exc
    except subprocess.TimeoutExpired as exc:
        raise DiskError("%s %s did not finish in %ss" % (QEMU_IMG, args[0], timeout)) from exc
    if proc.returncode != 0:
        LOG.debug("%s %s failed: %s", QEMU_IMG, args, proc.stderr)
        lines = proc.stderr.strip().splitlines() or ["(no message)"]
        raise DiskError("%s %s failed: %s" % (QEMU_IMG, args[0], _hide_paths(lines[-1], args)))
    return proc.stdout


def _hide_paths(message, args):
    """Host paths in a message users may see are cut to their file name."""
    for arg in sorted((a for a in args if a.startswith("/")), key=len, reverse=True):
        message = message.replace(arg, os.path.basename(arg))
    return message


def info(path, fmt=None, force_share=True):
    """``qemu-img info --output=json`` as a dict.

    Without ``fmt`` qemu-img probes the format (what the contents look
    like). ``force_share`` lets it read images a running guest holds open.
    """
    args = ["info", "--output=json"]
    if force_share:
        args.append("-U")
    if fmt:
        args += ["-f", fmt]
    args.append(path)
    try:
        return json.loads(_run(args))
    except ValueError as exc:
        raise DiskError("%s info gave no JSON" % QEMU_IMG) from exc


def probe_format(path):
    """The format qemu-img sees in the file (e.g. 'raw', 'qcow2')."""
    return info(path).get("format")


def check_base_image(path, expected_format):
    """Verify a downloaded base image is what the image service says it is.

    Returns its qemu-img info. Raises DiskError when the contents are of
    another format, when the image claims a backing file or an external data
    file (either could point anywhere on this host), or when qemu-img cannot
    read it. The header is inspected before qemu-img opens the file at all.
    """
    try:
        format_inspector.check_file(path, expected_format)
    except format_inspector.FormatError as exc:
        raise DiskError(str(exc)) from exc
    try:
        details = info(path)
    except DiskError as exc:
        raise DiskError("image is corrupt or unreadable (%s)" % exc) from exc
    actual = details.get("format")
    if actual != expected_format:
        raise DiskError("image contents are %s, not the declared %s"
                        % (actual, expected_format))
    if details.get("backing-filename") or details.get("full-backing-filename"):
        raise DiskError("image has a backing file, which is not allowed")
    if (details.get("format-specific") or {}).get("data", {}).get("data-file"):
        raise DiskError("image has an external data file, which is not allowed")
    if expected_format == "qcow2":
        try:
            _run(["check", "-U", "-f", "qcow2", path])
        except DiskError as exc:
            raise DiskError("image is a corrupt qcow2 (%s)" % exc) from exc
    return details


def create_overlay(base_path, base_format, path, size_bytes=None):
    """A qcow2 file at ``path`` backed by ``base_path``, of ``size_bytes``.

    With no size the overlay is as large as the base image.
    """
    args = ["create", "-q", "-f", "qcow2", "-F", base_format, "-b", base_path, path]
    if size_bytes:
        args.append(str(int(size_bytes)))
    _run(args)


def convert(src_path, src_format, path, fmt="qcow2"):
    """A copy of ``src_path`` as ``fmt`` at ``path`` (zeroed areas stay unallocated)."""
    _run(["convert", "-q", "-f", src_format, "-O", fmt, src_path, path])


def rebase_unsafe(path, base_path, base_format):
    """Point a qcow2 overlay at ``base_path`` (the same image, cached
    elsewhere) without reading either file: only the header changes."""
    _run(["rebase", "-q", "-u", "-f", "qcow2", "-F", base_format, "-b", base_path, path])


def grow(path, size_bytes):
    """Grow a qcow2 file to ``size_bytes`` (never shrinks: a smaller size is
    left alone)."""
    if size_bytes > info(path, fmt="qcow2", force_share=False)["virtual-size"]:
        _run(["resize", "-q", "-f", "qcow2", path, str(int(size_bytes))])


def backing_file(path):
    """The backing file an overlay references, or None."""
    details = info(path, fmt="qcow2")
    return details.get("full-backing-filename") or details.get("backing-filename")


def root_disk_size(root_gb, virtual_size):
    """Bytes of the root overlay: the flavor's root_gb, or the image's size.

    Raises DiskError when the flavor's disk is smaller than the image.
    """
    if not root_gb:
        return virtual_size
    size = root_gb * GiB
    if size < virtual_size:
        raise DiskError("the flavor's root disk (%d GiB) is smaller than the image "
                        "(%.1f GiB)" % (root_gb, virtual_size / GiB))
    return size
