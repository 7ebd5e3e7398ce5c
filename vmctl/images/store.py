"""Image files under ``[image] data_dir``: one file per image, named by id.

Uploads are streamed in chunks into ``<id>.part`` while md5 and sha256 are
computed, fsynced and renamed into place, so a file named ``<id>`` is
always complete. Nothing here reads a whole image into memory.
"""

import hashlib
import logging
import os

from vmctl.image_client import files
from vmctl.images import exception

LOG = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
HASH_ALGO = "sha256"


class Hashes:
    """md5 (Glance's ``checksum``) and sha256 (``os_hash_value``) of a stream."""

    def __init__(self):
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha = hashlib.new(HASH_ALGO)

    def update(self, chunk):
        self.size += len(chunk)
        self._md5.update(chunk)
        self._sha.update(chunk)

    @property
    def checksum(self):
        return self._md5.hexdigest()

    @property
    def os_hash_value(self):
        return self._sha.hexdigest()


class StreamError(Exception):
    """Reading the client's data failed (disconnect, short or malformed body)."""


class FileStore:
    def __init__(self, data_dir, chunk_size=CHUNK_SIZE):
        self.data_dir = data_dir
        self.chunk_size = chunk_size

    def path(self, image_id):
        return os.path.join(self.data_dir, image_id)

    def write(self, image_id, stream, max_bytes, expected_length=None):
        """Store ``stream`` as the image's data; its Hashes.

        Raises ImageTooLarge past ``max_bytes``, StreamError when reading
        the stream fails or ends before ``expected_length``, and OSError when
        the disk does; in every case the partial file is gone.
        """
        os.makedirs(self.data_dir, exist_ok=True)
        part = self.path(image_id) + ".part"
        hashes = Hashes()
        try:
            with open(part, "wb") as out:
                for chunk in self._chunks_of(stream):
                    hashes.update(chunk)
                    if hashes.size > max_bytes:
                        raise exception.ImageTooLarge(limit=max_bytes)
                    out.write(chunk)
                if expected_length is not None and hashes.size != expected_length:
                    raise StreamError("got %d of %d bytes" % (hashes.size, expected_length))
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, self.path(image_id))
            files.fsync_dir(self.data_dir)
        except BaseException:
            files.remove_quietly(part)
            raise
        return hashes

    def _chunks_of(self, stream):
        while True:
            try:
                chunk = stream.read(self.chunk_size)
            except Exception as exc:  # the client's socket, not our disk
                raise StreamError(str(exc) or type(exc).__name__) from exc
            if not chunk:
                return
            yield chunk

    def size(self, image_id):
        """Bytes on disk, or None when the file is missing."""
        try:
            return os.stat(self.path(image_id)).st_size
        except FileNotFoundError:
            return None

    def hash_file(self, image_id):
        """Hashes of the stored file (reads it once, in chunks)."""
        hashes = Hashes()
        with open(self.path(image_id), "rb") as f:
            for chunk in iter(lambda: f.read(self.chunk_size), b""):
                hashes.update(chunk)
        return hashes

    def open_chunks(self, image_id, size, os_hash_value):
        """A WSGI iterable of the file's chunks that re-checks the data.

        The sha256 is computed while sending and each chunk is held back
        until the next one is read: when the data turns out different from
        ``size``/``os_hash_value`` (changed since it was verified) the last
        chunk is never sent and the response breaks off, so a client never
        receives a complete body of corrupt data.
        """
        return _VerifyingChunks(open(self.path(image_id), "rb"), image_id,
                                size, os_hash_value, self.chunk_size)

    def delete(self, image_id, partial=True):
        """Remove the image's file and, unless an upload still writes it
        (``partial=False``), its partial file; missing files are fine."""
        files.remove_quietly(self.path(image_id))
        if partial:
            files.remove_quietly(self.path(image_id) + ".part")


class _VerifyingChunks:
    def __init__(self, f, image_id, size, os_hash_value, chunk_size):
        self._file = f
        self._image_id = image_id
        self._size = size
        self._expected = os_hash_value
        self._chunk_size = chunk_size

    def __iter__(self):
        hashes = Hashes()
        pending = None
        try:
            for chunk in iter(lambda: self._file.read(self._chunk_size), b""):
                hashes.update(chunk)
                if hashes.size > self._size:
                    break
                if pending is not None:
                    yield pending
                pending = chunk
            if hashes.size != self._size or hashes.os_hash_value != self._expected:
                LOG.error("Image %s changed on disk while it was sent: breaking "
                          "off the download", self._image_id)
                raise exception.ImageDataCorrupt(
                    image_id=self._image_id, reason="the data changed while it was sent")
            if pending is not None:
                yield pending
        finally:
            self.close()

    def close(self):
        self._file.close()
