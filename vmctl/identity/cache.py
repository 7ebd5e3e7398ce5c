"""A short-lived cache of validated tokens, for the API's auth middleware.

Validating a token reads the user, project, revocations and role
assignments (five queries): as much as a small API call itself. The cache
keeps each validation for ``ttl`` seconds at most, never past the token's
own expiry, keyed by the token's SHA-256 (the tokens themselves are not
kept). ``clear`` empties it: the middleware calls it after any change made
through the identity API of this process.
"""

import hashlib
import threading
import time

from vmctl.identity import tokens


class TokenCache:
    def __init__(self, ttl, max_entries=10000, clock=time.monotonic, now=None):
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._now = now or tokens.utcnow  # naive UTC, as TokenData.expires_at
        self._lock = threading.Lock()
        self._entries = {}

    @staticmethod
    def _key(token):
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()

    def get(self, token):
        """The cached identity dict of ``token``, or None."""
        if self.ttl <= 0:
            return None
        key = self._key(token)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            until, identity = found
            if self._clock() >= until:
                del self._entries[key]
                return None
            return dict(identity, roles=list(identity["roles"]))

    def put(self, token, identity, expires_at):
        """Keep ``identity`` for at most ttl seconds and never past ``expires_at``."""
        if self.ttl <= 0:
            return
        left = (expires_at - self._now()).total_seconds()
        keep = min(self.ttl, left)
        if keep <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[self._key(token)] = (self._clock() + keep, dict(identity))

    def clear(self):
        with self._lock:
            self._entries.clear()
