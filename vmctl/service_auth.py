"""Tokens a compute agent presents to the other vmctl services.

``for_conf(conf)`` gives an object with ``token()`` and ``invalidate()``:

- with ``[service_user] auth_url`` set, a password login to the identity
  service (Keystone v3: ``POST /auth/tokens``, project scope), the token
  cached until a minute before it expires and fetched again after
  ``invalidate()`` (a 401 from the service: keys rotated, user changed);
- otherwise ``[image] service_token`` as is (noauth development clouds).

Standard library only (the agents do not need keystoneauth), thread-safe,
and the password and tokens never reach a log message.
"""

import datetime
import json
import threading
import urllib.error
import urllib.request

RENEW_BEFORE = datetime.timedelta(seconds=60)


class AuthError(Exception):
    """No token could be obtained; the message is safe to log."""


class StaticToken:
    def __init__(self, token):
        self._token = token

    def token(self):
        return self._token

    def invalidate(self):
        pass


class PasswordAuth:
    def __init__(self, opts, opener=None, now=None):
        self.opts = opts
        self._opener = opener or urllib.request.build_opener()
        self._now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self._lock = threading.Lock()
        self._token = None
        self._expires = None

    def token(self):
        with self._lock:
            if self._token is None or self._now() >= self._expires - RENEW_BEFORE:
                self._token, self._expires = self._login()
            return self._token

    def invalidate(self):
        with self._lock:
            self._token = None

    def _login(self):
        url = self.opts.auth_url.rstrip("/")
        if not url.endswith("/v3"):
            url += "/v3"
        request = urllib.request.Request(
            url + "/auth/tokens", data=json.dumps(login_body(self.opts)).encode(),
            method="POST", headers={"Content-Type": "application/json",
                                    "Accept": "application/json"})
        try:
            with self._opener.open(request, timeout=self.opts.timeout) as resp:
                token = resp.headers.get("X-Subject-Token")
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            exc.close()
            raise AuthError("identity service refused the service user %s: HTTP %d"
                            % (self.opts.username, exc.code)) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise AuthError("identity service at %s unreachable: %s"
                            % (url, getattr(exc, "reason", exc))) from None
        if not token:
            raise AuthError("identity service at %s sent no X-Subject-Token" % url)
        return token, expiry(body)


def login_body(opts):
    """The Keystone v3 password request of the service user."""
    return {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": opts.username, "domain": {"name": opts.user_domain_name},
            "password": opts.password}}},
        "scope": {"project": {"name": opts.project_name,
                              "domain": {"name": opts.project_domain_name}}}}}


def expiry(body):
    """The token's expires_at as an aware datetime (now, when absent)."""
    text = (body.get("token") or {}).get("expires_at")
    if not text:
        return datetime.datetime.now(datetime.timezone.utc)
    parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def for_conf(conf):
    if conf.service_user.auth_url:
        return PasswordAuth(conf.service_user)
    return StaticToken(conf.image.service_token)
