"""What stands between a password guesser and the users.

- ``dummy_hash``: a password is checked against a bcrypt hash of the same
  cost whether or not the user exists (or has a password), so the answer
  takes as long for an unknown name as for a known one.
- Lockout (Keystone's ``lockout_failure_attempts`` / ``lockout_duration``):
  after that many failures in a row a user is refused, right password or
  not, until ``lockout_duration`` has passed since the last failure.
- ``SourceThrottle``: failed token requests are counted per source address
  in a leaky bucket; a source over ``auth_failure_burst`` gets 429 with
  Retry-After for every token request until the bucket drains.

One ``AuthGuard`` per API process (vmctl.api.auth puts it in the environ).
"""

import datetime
import math
import secrets
import threading
import time

from vmctl.identity import passwords

# Sources remembered at most; past it the oldest are forgotten.
MAX_SOURCES = 10000


class SourceThrottle:
    """Per-source leaky bucket of failures: each failure adds one, one
    drains every ``interval`` seconds; a source that failed ``burst``
    times in quick succession waits."""

    def __init__(self, burst, interval, clock=time.monotonic):
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self._level = {}  # source -> (level, at)
        self._lock = threading.Lock()

    def _current(self, source, now):
        level, at = self._level.get(source, (0.0, now))
        return max(0.0, level - (now - at) / self.interval)

    def retry_after(self, source):
        """Seconds the source must wait before its next token request; 0: none."""
        if not self.burst:
            return 0
        with self._lock:
            level = self._current(source, self.clock())
        # ``burst`` failures in quick succession fill the bucket (less the
        # little that drained meanwhile): the next request waits until a
        # whole failure has drained.
        excess = level - (self.burst - 1)
        if excess <= 0:
            return 0
        return max(1, math.ceil(excess * self.interval))

    def failed(self, source):
        if not self.burst:
            return
        with self._lock:
            now = self.clock()
            level = self._current(source, now) + 1
            self._level.pop(source, None)
            self._level[source] = (level, now)
            while len(self._level) > MAX_SOURCES:
                del self._level[next(iter(self._level))]


class AuthGuard:
    def __init__(self, conf, clock=time.monotonic):
        self.conf = conf
        self.throttle = SourceThrottle(conf.identity.auth_failure_burst,
                                       conf.identity.auth_failure_interval, clock)
        self._dummy = None
        self._lock = threading.Lock()

    def dummy_hash(self):
        """A hash no password matches, at the cost new hashes get."""
        if self._dummy is None:
            with self._lock:
                if self._dummy is None:
                    self._dummy = passwords.hash_password(
                        secrets.token_urlsafe(32), self.conf.identity.password_hash_rounds)
        return self._dummy

    def locked_out(self, user, now):
        """Whether ``user`` (a row) is locked out at ``now`` (naive UTC)."""
        attempts = self.conf.identity.lockout_failure_attempts
        if not attempts or user.failed_auth_count < attempts:
            return False
        return not self.series_over(user.failed_auth_at, now)

    def series_over(self, failed_auth_at, now):
        """Whether a user's last failure (``failed_auth_at``) is older than
        lockout_duration: a new failure then starts a new series (as in
        Keystone)."""
        duration = datetime.timedelta(seconds=self.conf.identity.lockout_duration)
        return failed_auth_at is None or now - failed_auth_at >= duration

    def counts_failures(self):
        return bool(self.conf.identity.lockout_failure_attempts)
