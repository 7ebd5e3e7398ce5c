"""Copying a stopped guest's disks from the source compute to the destination.

The source offers a **manifest** when it has powered the guest off
(``ComputeDriver.migrate_disk_and_power_off``); it crosses the bus inside
the RPC arguments (conductor -> destination) and is never written to the
database::

    {"migration_uuid": ..., "source_host": "compute1",
     "shared_storage": false,            # true: the destination reads in place
     "url": "https://compute1:8779/migrations/<uuid>/",   # where to pull from
     "token": "<64 hex>",                # per-migration secret, dies at confirm/revert
     "files": [{"name": "disk", "size": 1073741824, "sha256": "<hex>"}]}

The destination **pulls** every file with ``pull``: it asks the source for
the bytes from the offset it already holds (a resumed copy re-hashes the
prefix it kept), hashes while writing, and compares size and SHA-256 at the
end. A broken stream is resumed; a checksum mismatch discards the file and
starts it again; after ``attempts`` tries the move fails and is rolled back
(the source still has everything). A transport implements ``SourceFiles``
(the fake driver reads the source host's state; libvirt serves the files
over HTTPS from the source compute with the token as a bearer credential
and HTTP ranges for resuming) and ``TargetFiles`` (where the bytes land).
"""

import hashlib
import logging
import secrets
import time

LOG = logging.getLogger(__name__)

CHUNK = 1024 * 1024


class TransferError(Exception):
    """A disk could not be copied intact; the message is safe to show."""


class BrokenStream(Exception):
    """The stream stopped early: resume from what was written."""


def new_token():
    return secrets.token_hex(32)


def manifest(migration_uuid, source_host, files, url=None, token=None, shared_storage=False):
    return {"migration_uuid": migration_uuid, "source_host": source_host,
            "shared_storage": bool(shared_storage), "url": url, "token": token,
            "files": [dict(f) for f in files]}


def file_entry(name, data):
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


class SourceFiles:
    """The source side of a transfer, as the destination sees it."""

    def read(self, name, offset, token):
        """Iterate over the bytes of ``name`` from ``offset``; BrokenStream
        if the stream stops early, TransferError if it is refused."""
        raise NotImplementedError


class TargetFiles:
    """Where the destination writes (a directory, a volume, memory)."""

    def held(self, name):
        """Bytes of ``name`` already written (a resumed copy re-hashes them)."""
        raise NotImplementedError

    def append(self, name, chunk):
        raise NotImplementedError

    def discard(self, name):
        raise NotImplementedError


def pull(the_manifest, source, target, attempts=3, delay=0.5, sleep=time.sleep):
    """Copy every file of the manifest; TransferError when one cannot be.

    Returns {name: sha256} of what was written (equal to the manifest's).
    """
    done = {}
    for entry in the_manifest["files"]:
        done[entry["name"]] = _pull_one(entry, the_manifest.get("token"), source, target,
                                        attempts, delay, sleep)
    return done


def _pull_one(entry, token, source, target, attempts, delay, sleep):
    name, why = entry["name"], "no attempt made"
    for attempt in range(1, attempts + 1):
        hasher, offset = hashlib.sha256(), 0
        for chunk in target.held(name):
            hasher.update(chunk)
            offset += len(chunk)
        try:
            for chunk in source.read(name, offset, token):
                hasher.update(chunk)
                offset += len(chunk)
                target.append(name, chunk)
        except BrokenStream as exc:
            why = "the stream broke at byte %d (%s)" % (offset, exc)
            LOG.info("Transfer of %s: %s; attempt %d of %d", name, why, attempt, attempts)
            sleep(delay * 2 ** (attempt - 1))
            continue
        if offset == entry["size"] and hasher.hexdigest() == entry["sha256"]:
            return entry["sha256"]
        why = "checksum mismatch (%d bytes, sha256 %s, expected %d bytes, %s)" % (
            offset, hasher.hexdigest()[:12], entry["size"], entry["sha256"][:12])
        LOG.warning("Transfer of %s: %s; attempt %d of %d", name, why, attempt, attempts)
        target.discard(name)
        sleep(delay * 2 ** (attempt - 1))
    raise TransferError("could not copy %s intact after %d attempts: %s"
                        % (name, attempts, why))
