"""Image service client for compute agents: show an image, download its data.

Standard library only (urllib). Downloads stream into ``<dest>.part`` while
the sha256 is computed, are checked against the image's ``os_hash_value``
and size, fsynced and renamed into place; on any failure the partial file
is removed and ImageError raised with a message safe to show users.
"""

import hashlib
import http.client
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from vmctl import service_auth
from vmctl.image_client import files

LOG = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


class ImageError(Exception):
    """An image could not be fetched; the message is safe to show users."""


class ImageNotFound(ImageError):
    pass


class ImageClient:
    def __init__(self, conf, opener=None, auth=None):
        self.base_url = conf.image.api_url.rstrip("/")
        self.auth = auth or service_auth.for_conf(conf)
        self.timeout = conf.image.download_timeout
        self._opener = opener or urllib.request.build_opener()

    # --- requests ----------------------------------------------------------
    def _url(self, image_id, suffix=""):
        return "%s/v2/images/%s%s" % (self.base_url, urllib.parse.quote(image_id, safe=""),
                                      suffix)

    def _open(self, image_id, url, accept):
        try:
            try:
                return self._request(url, accept)
            except urllib.error.HTTPError as exc:
                if exc.code != 401:
                    raise
                exc.close()
                self.auth.invalidate()  # expired, or keys rotated: once more
                return self._request(url, accept)
        except service_auth.AuthError as exc:
            raise ImageError("image %s: %s" % (image_id, exc)) from None
        except urllib.error.HTTPError as exc:
            with exc:
                message = _error_message(exc)
            if exc.code == 404:
                raise ImageNotFound("image %s not found" % image_id) from None
            raise ImageError("image service error for image %s: HTTP %d %s"
                             % (image_id, exc.code, message)) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ImageError("image service unreachable for image %s: %s"
                             % (image_id, reason)) from None

    def _request(self, url, accept):
        request = urllib.request.Request(url, headers={
            "X-Auth-Token": self.auth.token(), "Accept": accept})
        return self._opener.open(request, timeout=self.timeout)

    def show(self, image_id):
        """The image's record (Glance v2 shape) as a dict."""
        with self._open(image_id, self._url(image_id), "application/json") as resp:
            try:
                return json.loads(resp.read())
            except (ValueError, OSError, http.client.HTTPException) as exc:
                raise ImageError("bad answer from the image service for image %s: %s"
                                 % (image_id, exc)) from None

    def download(self, image_id, dest_path):
        """Fetch the image's data into ``dest_path``, verified by sha256."""
        image = self.show(image_id)
        if image.get("status") != "active":
            raise ImageError("image %s is not active (status %s)"
                             % (image_id, image.get("status")))
        algo, expected = image.get("os_hash_algo"), image.get("os_hash_value")
        if not expected or algo not in hashlib.algorithms_available:
            raise ImageError("image %s has no usable hash (os_hash_algo %s)"
                             % (image_id, algo))
        part = dest_path + ".part"
        started = time.monotonic()
        try:
            got, size = self._fetch(image_id, part, algo, started)
            if size != image.get("size"):
                raise ImageError("download of image %s was cut short or overlong: "
                                 "got %d bytes, expected %s" % (image_id, size, image.get("size")))
            if got != expected:
                raise ImageError("checksum mismatch for image %s" % image_id)
            os.replace(part, dest_path)
            files.fsync_dir(os.path.dirname(os.path.abspath(dest_path)))
        except ImageError:
            files.remove_quietly(part)
            raise
        except OSError as exc:  # our disk: the network errors are ImageError
            files.remove_quietly(part)
            raise ImageError("could not write image %s to %s: %s"
                             % (image_id, dest_path, exc.strerror or exc)) from exc
        except BaseException:
            files.remove_quietly(part)
            raise
        LOG.info("Downloaded image %s (%d bytes) in %.1fs", image_id, size,
                 time.monotonic() - started)

    def _fetch(self, image_id, part, algo, started):
        """Stream the data into ``part``: (hex digest, size)."""
        digest = hashlib.new(algo)
        size = 0
        with self._open(image_id, self._url(image_id, "/file"),
                        "application/octet-stream") as resp, open(part, "wb") as out:
            if resp.status != 200:
                raise ImageError("image %s has no data (HTTP %d)" % (image_id, resp.status))
            while True:
                if time.monotonic() - started > self.timeout:
                    raise ImageError("download of image %s took longer than %d s "
                                     "([image] download_timeout)" % (image_id, self.timeout))
                try:
                    chunk = resp.read(CHUNK_SIZE)
                except (OSError, socket.timeout, http.client.HTTPException) as exc:
                    raise ImageError("download of image %s failed: %s"
                                     % (image_id, _describe(exc))) from None
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest(), size


def _error_message(exc):
    """The message of a Nova-shaped error body, else the HTTP reason."""
    try:
        body = json.loads(exc.read(65536))
        (fault,) = body.values()
        return fault["message"]
    except Exception:
        return exc.reason


def _describe(exc):
    if isinstance(exc, http.client.IncompleteRead):
        return "connection closed after %d bytes" % len(exc.partial)
    return str(exc) or type(exc).__name__
