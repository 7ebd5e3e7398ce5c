"""The cache of base images instance disks are backed by.

Layout of ``image_cache_path``::

    <image_id>          the image, in its own format (read by overlays)
    <image_id>.info     JSON: disk_format, last_used (epoch seconds)
    <image_id>.download[.part]  a download in progress (or interrupted)
    locks/<image_id>    flock file serialising fetch and removal of one image

Each instance folder holds ``images.json`` listing the cached images it
uses (root base, kernel, ramdisk); spawn writes it *before* fetching, so the
cleanup never removes an image a spawn is about to use. An instance folder
without it (written by something else) falls back to the overlay's backing
file as qemu-img reports it.
"""

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
import time

from vmctl.virt.libvirt import disk

LOG = logging.getLogger(__name__)

INSTANCE_REFS = "images.json"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
# Files kept beside an image (longest first: names are matched in order).
# The image client streams into "<dest>.part", so a download in progress is
# "<id>.download.part".
_SUFFIXES = (".download.part", ".info.tmp", ".download", ".info", ".part")


class CacheError(Exception):
    pass


def valid_image_id(image_id):
    return (bool(_ID_RE.match(image_id or "")) and ".." not in image_id
            and image_id != "locks")


def write_instance_refs(instance_dir, image_ids):
    """Record the cached images an instance uses (atomically)."""
    path = os.path.join(instance_dir, INSTANCE_REFS)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"images": sorted(set(image_ids))}, f)
    os.replace(tmp, path)


def read_instance_refs(instance_dir):
    """The image ids an instance folder records, or None without a record."""
    try:
        with open(os.path.join(instance_dir, INSTANCE_REFS)) as f:
            return set(json.load(f).get("images", []))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        LOG.warning("Unreadable %s in %s: %s", INSTANCE_REFS, instance_dir, exc)
        return None


class ImageCache:
    def __init__(self, base_dir, instances_dir, unused_seconds,
                 backing_file=disk.backing_file, clock=time.time):
        self.base_dir = base_dir
        self.instances_dir = instances_dir
        self.unused_seconds = unused_seconds
        self._backing_file = backing_file
        self._clock = clock
        self._locks = {}
        self._locks_guard = threading.Lock()

    def path(self, image_id):
        if not valid_image_id(image_id):
            raise CacheError("invalid image id %r" % (image_id,))
        return os.path.join(self.base_dir, image_id)

    @contextlib.contextmanager
    def lock(self, image_id):
        """Exclusive use of one image: threads of this agent and other processes."""
        with self._locks_guard:
            thread_lock = self._locks.setdefault(image_id, threading.Lock())
        lock_dir = os.path.join(self.base_dir, "locks")
        os.makedirs(lock_dir, exist_ok=True)
        with thread_lock, open(os.path.join(lock_dir, image_id), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # --- info sidecar --------------------------------------------------------
    def _info_path(self, image_id):
        return self.path(image_id) + ".info"

    def read_info(self, image_id):
        try:
            with open(self._info_path(image_id)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _write_info(self, image_id, info):
        path = self._info_path(image_id)
        with open(path + ".tmp", "w") as f:
            json.dump(info, f)
        os.replace(path + ".tmp", path)

    def _mark_used(self, image_id, info=None):
        info = dict(info or self.read_info(image_id) or {})
        info["last_used"] = self._clock()
        self._write_info(image_id, info)

    # --- fetch ---------------------------------------------------------------
    def fetch(self, image_id, disk_format, download, verify=None):
        """Path of the cached image, downloading it first if needed.

        ``download(image_id, dest)`` writes the image to ``dest``;
        ``verify(path)`` raises when the file is not a usable image of
        ``disk_format``. A failed download or check leaves nothing behind.
        """
        path = self.path(image_id)
        os.makedirs(self.base_dir, exist_ok=True)
        with self.lock(image_id):
            info = self.read_info(image_id)
            if os.path.exists(path) and info and info.get("disk_format") == disk_format:
                self._mark_used(image_id, info)
                return path
            self._remove_files(image_id)
            tmp = path + ".download"
            try:
                download(image_id, tmp)
                if verify is not None:
                    verify(tmp)
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
            except BaseException:
                self._remove_files(image_id)
                raise
            self._mark_used(image_id, {"disk_format": disk_format})
            LOG.info("Cached image %s (%s)", image_id, disk_format)
            return path

    def _remove_files(self, image_id):
        path = self.path(image_id)
        for candidate in [path] + [path + suffix for suffix in _SUFFIXES]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(candidate)

    # --- cleanup -------------------------------------------------------------
    def cached_images(self):
        """Ids of the images (and leftovers) present in the cache."""
        try:
            names = os.listdir(self.base_dir)
        except FileNotFoundError:
            return []
        ids = set()
        for name in names:
            for suffix in _SUFFIXES:
                if name.endswith(suffix):
                    name = name[:-len(suffix)]
                    break
            if valid_image_id(name):
                ids.add(name)
        return sorted(ids)

    def referenced_images(self):
        """Ids of the cached images some instance folder uses."""
        refs = set()
        try:
            folders = os.listdir(self.instances_dir)
        except FileNotFoundError:
            return refs
        for name in folders:
            folder = os.path.join(self.instances_dir, name)
            if not os.path.isdir(folder):
                continue
            recorded = read_instance_refs(folder)
            if recorded is not None:
                refs |= recorded
                continue
            backing = self._overlay_backing(os.path.join(folder, "disk"))
            if backing and os.path.dirname(backing) == os.path.abspath(self.base_dir):
                refs.add(os.path.basename(backing))
        return refs

    def _overlay_backing(self, disk_path):
        if not os.path.exists(disk_path):
            return None
        try:
            backing = self._backing_file(disk_path)
        except Exception as exc:
            LOG.warning("Cannot read the backing file of %s: %s", disk_path, exc)
            return None
        return os.path.abspath(backing) if backing else None

    def cleanup(self):
        """Remove images no instance used for ``unused_seconds``; their ids."""
        referenced = self.referenced_images()
        removed = []
        for image_id in self.cached_images():
            if image_id in referenced:
                with self.lock(image_id):
                    if os.path.exists(self.path(image_id)):
                        self._mark_used(image_id)
                continue
            with self.lock(image_id):
                # A spawn may have recorded it since the scan above.
                if image_id in self.referenced_images():
                    continue
                if self._idle_seconds(image_id) < self.unused_seconds:
                    continue
                self._remove_files(image_id)
                removed.append(image_id)
                LOG.info("Removed unused cached image %s", image_id)
        return removed

    def _idle_seconds(self, image_id):
        """Seconds since an instance last used the image (or since it arrived).

        Called under the image's lock, so a lone ``.download`` is the debris
        of an interrupted fetch: infinitely idle.
        """
        info = self.read_info(image_id) or {}
        last = info.get("last_used")
        if last is None:
            try:
                last = os.path.getmtime(self.path(image_id))
            except OSError:
                return float("inf")
        return self._clock() - last
