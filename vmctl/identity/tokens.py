"""Fernet tokens and their key repository.

A token is a Fernet message (AES-128-CBC + HMAC-SHA256, from the
``cryptography`` package) whose payload is a compact JSON list: version,
user id, project id, methods, issued_at and expires_at (epoch seconds, UTC)
and the audit id. Roles are not in the token: they are looked up whenever
it is validated, so a revoked assignment takes effect at once.

The key repository is a directory of files named by integers, each holding
one Fernet key:

- ``0`` is the *staged* key: the next primary. It already validates, so
  every API node knows it before it starts issuing tokens with it.
- the highest number is the *primary* key: it encrypts new tokens.
- the others are *secondary* keys: they only validate tokens made before
  the last rotations.

``rotate`` promotes the staged key to primary (renaming it to highest + 1),
writes a new staged key, and removes the oldest secondaries beyond
``max_active_keys``. The provider re-reads the repository when its files
change, so a rotation needs no restart.
"""

import base64
import datetime
import json
import os
import threading
import uuid

from cryptography import fernet

PAYLOAD_VERSION = 1
STAGED = 0


class KeyRepositoryError(Exception):
    """The key repository is missing, unreadable or has no usable key."""


class TokenError(Exception):
    """The token cannot be read: garbled, tampered with, or its key is gone."""


# --- the key repository ------------------------------------------------------

def key_ids(path):
    """Integer names of the key files in ``path``, ascending."""
    try:
        names = os.listdir(path)
    except OSError as exc:
        raise KeyRepositoryError("cannot read key repository %s: %s"
                                 % (path, exc.strerror)) from None
    return sorted(int(n) for n in names if n.isdigit())


def _write_key(path, key_id, key):
    tmp = os.path.join(path, ".%d.tmp" % key_id)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    os.replace(tmp, os.path.join(path, str(key_id)))


def setup(path, max_active_keys):
    """Create the repository (0700) with a staged and a primary key; a
    repository that already has keys is left as it is. The key ids."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    ids = key_ids(path)
    if ids:
        return ids
    _write_key(path, STAGED, fernet.Fernet.generate_key())
    return rotate(path, max_active_keys)


def rotate(path, max_active_keys):
    """Staged -> primary, a new staged key, prune old secondaries. The key
    ids after the rotation."""
    ids = key_ids(path)
    if STAGED not in ids:
        raise KeyRepositoryError("key repository %s has no staged key 0; run "
                                 "'vmctl-manage fernet setup'" % path)
    new_primary = max(ids) + 1
    os.replace(os.path.join(path, str(STAGED)), os.path.join(path, str(new_primary)))
    _write_key(path, STAGED, fernet.Fernet.generate_key())
    ids = key_ids(path)
    secondaries = [i for i in ids if i not in (STAGED, new_primary)]
    excess = len(ids) - max_active_keys
    for key_id in secondaries[:max(excess, 0)]:
        os.unlink(os.path.join(path, str(key_id)))
    return key_ids(path)


def load_keys(path):
    """The keys, primary first, then the staged key, then the secondaries
    newest first (the order MultiFernet tries them in)."""
    ids = key_ids(path)
    if not ids or max(ids) == STAGED:
        raise KeyRepositoryError("key repository %s has no primary key; run "
                                 "'vmctl-manage fernet setup'" % path)
    order = [max(ids), STAGED] + sorted((i for i in ids if i not in (STAGED, max(ids))),
                                        reverse=True)
    keys = []
    for key_id in order:
        if key_id not in ids:
            continue
        with open(os.path.join(path, str(key_id)), "rb") as f:
            keys.append(fernet.Fernet(f.read().strip()))
    return keys


# --- tokens ------------------------------------------------------------------

class TokenData:
    """What a token says: who, scoped to which project, since and until when."""

    def __init__(self, user_id, project_id, methods, issued_at, expires_at, audit_id):
        self.user_id = user_id
        self.project_id = project_id
        self.methods = list(methods)
        self.issued_at = issued_at
        self.expires_at = expires_at
        self.audit_id = audit_id

    def expired(self, now=None):
        return (now or utcnow()) >= self.expires_at

    def __repr__(self):  # never the token itself
        return "<TokenData user=%s project=%s audit=%s>" % (
            self.user_id, self.project_id, self.audit_id)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def new_audit_id():
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")


def _epoch(stamp):
    return (stamp - datetime.datetime(1970, 1, 1)).total_seconds()


def _from_epoch(seconds):
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)


def pack(data):
    return json.dumps([PAYLOAD_VERSION, data.user_id, data.project_id, data.methods,
                       round(_epoch(data.issued_at), 6), round(_epoch(data.expires_at), 6),
                       data.audit_id], separators=(",", ":")).encode("utf-8")


def unpack(payload):
    try:
        version, user_id, project_id, methods, issued, expires, audit_id = json.loads(payload)
    except (ValueError, TypeError):
        raise TokenError("unreadable token payload") from None
    if version != PAYLOAD_VERSION:
        raise TokenError("unknown token payload version")
    return TokenData(user_id, project_id, methods, _from_epoch(issued),
                     _from_epoch(expires), audit_id)


class FernetProvider:
    """Issues and reads tokens with the keys of ``key_repository``.

    The keys are re-read when the repository's files change (a rotation);
    thread-safe.
    """

    def __init__(self, key_repository, expiration_seconds):
        self.path = key_repository
        self.expiration = datetime.timedelta(seconds=expiration_seconds)
        self._lock = threading.Lock()
        self._signature = None
        self._fernet = None

    def _repository_signature(self):
        sig = []
        for key_id in key_ids(self.path):
            try:
                st = os.stat(os.path.join(self.path, str(key_id)))
            except OSError:
                continue
            sig.append((key_id, st.st_mtime_ns, st.st_ino))
        return tuple(sig)

    def _multi(self):
        signature = self._repository_signature()
        with self._lock:
            if signature != self._signature or self._fernet is None:
                self._fernet = fernet.MultiFernet(load_keys(self.path))
                self._signature = signature
            return self._fernet

    def issue(self, user_id, project_id, methods, now=None):
        """(token string, TokenData) of a new token."""
        issued = now or utcnow()
        data = TokenData(user_id, project_id, methods, issued, issued + self.expiration,
                         new_audit_id())
        return self._multi().encrypt(pack(data)).decode("ascii"), data

    def read(self, token):
        """The TokenData of a token made with one of our keys. Expiry is not
        checked here (the caller does, with the user's revocations)."""
        if not token or not isinstance(token, str):
            raise TokenError("no token")
        try:
            payload = self._multi().decrypt(token.encode("ascii"))
        except (fernet.InvalidToken, UnicodeEncodeError, ValueError):
            raise TokenError("token not made with any of our keys") from None
        return unpack(payload)
