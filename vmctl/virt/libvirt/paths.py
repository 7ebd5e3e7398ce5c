"""Host-specific paths in a domain's XML, and moving them to another host.

A guest's domain XML names files of the host that runs it: its disk and
console log in ``[libvirt] instances_path/<uuid>/``, its kernel and ramdisk
(and any base image) in ``[libvirt] image_cache_path``. Hosts need not
keep these in the same place, so a live migration sends the destination
both of the domain's definitions with those prefixes replaced by the
destination's own (which the destination reports in ``pre_live_migration``):

- the live one (``VIR_MIGRATE_PARAM_DEST_XML``): what QEMU runs with there;
- the persistent one (``VIR_MIGRATE_PARAM_PERSIST_XML``): what libvirt
  defines there (``PERSIST_DEST``) and starts the guest from after a power
  off, a cold migration's revert, a host reboot. Without it libvirt keeps
  the source's persistent definition, with the source's paths: bug 2 of
  issue 11, a guest that could not be started again once the source had
  removed its folder.

``foreign_paths`` lists what a definition still names outside this host's
folders; the destination checks both definitions on arrival.
"""

import os
import xml.etree.ElementTree as ET

_PATH_ATTRS = ("file", "path", "dir")
_PATH_TEXTS = ("kernel", "initrd", "loader", "nvram")


def _normalised(mapping):
    return {src.rstrip("/"): dst.rstrip("/") for src, dst in mapping.items()
            if src and dst and src.rstrip("/") != dst.rstrip("/")}


def _under(path, prefix):
    return path == prefix or path.startswith(prefix + "/")


def _paths(root):
    """(element, attribute or None for the text, path) of every file path."""
    for element in root.iter():
        for attr in _PATH_ATTRS:
            value = element.get(attr)
            if value and value.startswith("/"):
                yield element, attr, value
        if element.tag in _PATH_TEXTS and element.text and element.text.strip():
            yield element, None, element.text.strip()


def rewrite_paths(xml, mapping):
    """The domain XML with path prefixes replaced (source dir -> destination dir).

    ``mapping``: {source prefix: destination prefix}; a prefix matches a
    whole path component, the longest first. Returns the XML unchanged
    (the same string) when no path moves.
    """
    mapping = _normalised(mapping)
    if not mapping:
        return xml
    prefixes = sorted(mapping, key=len, reverse=True)
    root = ET.fromstring(xml)
    changed = False
    for element, attr, path in list(_paths(root)):
        src = next((p for p in prefixes if _under(path, p)), None)
        if src is None:
            continue
        new = mapping[src] + path[len(src):]
        if attr is None:
            element.text = new
        else:
            element.set(attr, new)
        changed = True
    return ET.tostring(root, encoding="unicode") if changed else xml


def host_paths(instances_path, image_cache_path, instance_uuid):
    """The folders of ``instance_uuid`` on one host, as a migration names them."""
    return {"instance_dir": os.path.join(instances_path, instance_uuid),
            "image_cache_path": image_cache_path}


def destination_mapping(source, destination):
    """{source prefix: destination prefix} from two ``host_paths``."""
    return {source["instance_dir"]: destination["instance_dir"],
            source["image_cache_path"]: destination["image_cache_path"]}


def foreign_paths(xml, own_prefixes, exists=os.path.exists):
    """The paths of a domain XML that belong to another host's folders.

    Outside ``own_prefixes``: a path through a folder named after the
    domain's uuid (another host's instance folder), or a missing file the
    guest boots or runs from (kernel, initrd, a disk or file source).
    Sockets and devices libvirt manages itself are left alone.
    """
    root = ET.fromstring(xml)
    uuid = (root.findtext("uuid") or "").strip()
    own = [p.rstrip("/") for p in own_prefixes if p]
    found = []
    for element, attr, path in _paths(root):
        if any(_under(path, p) for p in own):
            continue
        in_instance_dir = bool(uuid) and uuid in path.split("/")
        a_file = attr is None or (element.tag == "source" and attr == "file")
        if in_instance_dir or (a_file and not exists(path)):
            found.append(path)
    return found


def relocate_instance_paths(xml, instance_uuid, inst_dir):
    """The domain XML with every path through another folder of the instance
    (``<elsewhere>/<uuid>/...``: another host's instance folder) moved to
    ``inst_dir``. Repairs a definition an older live migration left naming
    the source's folder; the same string when nothing moves."""
    inst_dir = inst_dir.rstrip("/")
    mapping = {}
    for _element, _attr, path in _paths(ET.fromstring(xml)):
        parts = path.split("/")
        if instance_uuid in parts and not _under(path, inst_dir):
            prefix = "/".join(parts[:parts.index(instance_uuid) + 1])
            mapping[prefix] = inst_dir
    return rewrite_paths(xml, mapping)
