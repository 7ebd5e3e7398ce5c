"""The files of the instances on one host: folders, JSON records, storage identity.

Each instance lives in ``[libvirt] instances_path/<uuid>/``: ``disk`` (a
qcow2 overlay on a base image in ``[libvirt] image_cache_path``),
``console.log`` (the serial port), ``images.json`` (the cached images it
uses) and the records a move leaves there (``migration.json``,
``incoming.json``, ``resize.json``, ``resize-incoming.json``, see the live
and cold migrators). A cold migration's source keeps the folder as
``<uuid>_resize`` until confirm or revert.

Storage identity: ``instances_path/.vmctl-storage-id`` holds a random uuid
written once; two hosts that read the same id share instance storage.

Ownership on shared storage: an evacuated instance's folder carries
``owner.json`` (the host that runs it); ``remove`` on any other host
leaves such a folder alone.
"""

import json
import logging
import os
import shutil
import uuid as uuidlib

from vmctl.virt import driver

LOG = logging.getLogger(__name__)

STORAGE_ID_FILE = ".vmctl-storage-id"
OWNER = "owner.json"
KEPT_SUFFIX = "_resize"


def checked_uuid(value):
    """The canonical form of an instance uuid; VirtError for anything else.

    The uuid names a folder that destroy() removes: never trust it raw.
    """
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        raise driver.VirtError("invalid instance uuid %r" % (value,)) from None


def read_json(path):
    """The JSON at ``path``; None when it is missing or unreadable."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        LOG.warning("Unreadable %s: %s", path, exc)
        return None


def write_json(path, value):
    """Write JSON atomically (a reader sees the old or the new file)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def write_private_json(path, value):
    """JSON readable by this user only (it may hold a token), atomically."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def storage_id(instances_path):
    """The id of the storage behind ``instances_path`` (created once, atomically)."""
    path = os.path.join(instances_path, STORAGE_ID_FILE)
    for _attempt in range(3):
        try:
            with open(path) as f:
                value = f.read().strip()
            if value:
                return value
        except FileNotFoundError:
            pass
        os.makedirs(instances_path, exist_ok=True)
        tmp = "%s.%s.tmp" % (path, uuidlib.uuid4().hex)
        with open(tmp, "w") as f:
            f.write(str(uuidlib.uuid4()))
        try:
            os.link(tmp, path)          # fails if another host/agent made it first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    raise driver.VirtError("cannot read the storage id %s" % path)


def folder_owner(inst_dir):
    """The host an instance folder on shared storage belongs to (None: the
    host that finds it, i.e. never marked: not shared or never evacuated)."""
    return (read_json(os.path.join(inst_dir, OWNER)) or {}).get("host")


def write_owner(inst_dir, host):
    write_json(os.path.join(inst_dir, OWNER), {"host": host})


def kept_dir(instances_path, instance_uuid):
    return os.path.join(instances_path, instance_uuid + KEPT_SUFFIX)


class InstanceFiles:
    """The instance folders of this host (``[libvirt] instances_path``).

    ``nodename``: this host's name, set by the driver's ``init_host``; the
    driver and its migrators read it here.
    """

    def __init__(self, instances_path, nodename=None):
        self.instances_path = instances_path
        self.nodename = nodename

    def dir(self, instance_uuid):
        return os.path.join(self.instances_path, instance_uuid)

    def path(self, instance_uuid, name):
        return os.path.join(self.dir(instance_uuid), name)

    def kept_dir(self, instance_uuid):
        return kept_dir(self.instances_path, instance_uuid)

    def read(self, instance_uuid, name):
        return read_json(self.path(instance_uuid, name))

    def storage_id(self):
        return storage_id(self.instances_path)

    def free_bytes(self):
        fs = os.statvfs(self.instances_path)
        return fs.f_bavail * fs.f_frsize

    def kept_uuids(self):
        """The instance uuids whose folder is kept for a revert here."""
        try:
            names = os.listdir(self.instances_path)
        except FileNotFoundError:
            return
        for name in names:
            if not name.endswith(KEPT_SUFFIX):
                continue
            try:
                yield checked_uuid(name[:-len(KEPT_SUFFIX)])
            except driver.VirtError:
                continue

    def remove(self, instance_uuid):
        """Remove the instance's folder, unless another host owns it."""
        inst_dir = self.dir(instance_uuid)
        owner = folder_owner(inst_dir)
        if owner is not None and owner != self.nodename:
            LOG.info("Leaving the folder of %s: it belongs to %s (shared storage)",
                     instance_uuid, owner)
            return
        try:
            shutil.rmtree(inst_dir)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise driver.VirtError("cannot remove the files of instance %s: %s"
                                   % (instance_uuid, exc.strerror)) from exc
