"""Authentication and HTTP for the CLI (standard library only).

``Session`` authenticates once, lazily, on the first request:

- ``password``: Keystone v3 ``POST {auth_url}/auth/tokens`` (``/v3`` added
  when the URL lacks it), project-scoped; the token is the
  ``X-Subject-Token`` header, the compute and image endpoints come from the
  catalog for the configured interface (and region, if set);
- ``token`` / ``admin_token``: a given token, sent to a given endpoint;
- ``noauth``: vmctl's development mode, ``X-Auth-Token: user:project``.

For ``token`` and ``noauth`` the endpoint is vmctl's API root (compute is
``<endpoint>/v2.1``, images ``<endpoint>/image``). Errors become one-line
``ApiError``s. ``--debug`` traces requests with secrets redacted.
"""

import json
import re
import urllib.error
import urllib.parse
import urllib.request

REDACTED = "***"
SECRET_HEADERS = ("x-auth-token", "x-subject-token")
_SECRET_KEY_RE = re.compile(r'("(?:password|token|adminPass)"\s*:\s*)"[^"]*"')
COMPUTE_SUFFIX = "/v2.1"
IMAGE_SUFFIX = "/image"


class ApiError(Exception):
    """A request failed; ``str()`` is the line to show the user."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status

    def __str__(self):
        text = self.args[0]
        return "%s (HTTP %s)" % (text, self.status) if self.status else text


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def request_id(self):
        return (self.headers.get("x-openstack-request-id")
                or self.headers.get("x-compute-request-id"))


def fault_message(raw):
    """The message of an error body: Nova's ``{"badRequest": {"message"}}``,
    Keystone's ``{"error": {"message"}}``, or the first line of the text."""
    try:
        body = json.loads(raw)
    except (ValueError, TypeError):
        body = None
    if isinstance(body, dict) and len(body) == 1:
        detail = next(iter(body.values()))
        if isinstance(detail, dict) and detail.get("message"):
            return str(detail["message"]).strip()
    text = raw.decode("utf-8", "replace").strip() if isinstance(raw, bytes) else ""
    return text.splitlines()[0][:300] if text else "no message"


def redact_body(text):
    return _SECRET_KEY_RE.sub(lambda m: m.group(1) + '"%s"' % REDACTED, text)


def redact_headers(headers):
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def keystone_v3(auth_url):
    url = auth_url.rstrip("/")
    return url if url.endswith("/v3") else url + "/v3"


def password_request(auth):
    """The body of ``POST /v3/auth/tokens`` for password auth, project scope."""
    user = {"name": auth["username"], "password": auth["password"],
            "domain": _domain(auth, "user")}
    if auth.get("user_id"):
        user = {"id": auth["user_id"], "password": auth["password"]}
    project = ({"id": auth["project_id"]} if auth.get("project_id")
               else {"name": auth["project_name"], "domain": _domain(auth, "project")})
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                     "scope": {"project": project}}}


def _domain(auth, kind):
    if auth.get("%s_domain_id" % kind):
        return {"id": auth["%s_domain_id" % kind]}
    return {"name": auth.get("%s_domain_name" % kind) or "Default"}


def catalog_endpoint(catalog, service_type, interface, region=None):
    """The URL of ``service_type`` in a v3 catalog, or None."""
    for service in catalog or ():
        if service.get("type") != service_type:
            continue
        for endpoint in service.get("endpoints") or ():
            if endpoint.get("interface") != interface:
                continue
            if region and region not in (endpoint.get("region"), endpoint.get("region_id")):
                continue
            return endpoint.get("url")
    return None


def api_root(endpoint):
    """vmctl's API root from an endpoint given with or without /v2.1."""
    url = endpoint.rstrip("/")
    return url[:-len(COMPUTE_SUFFIX)] if url.endswith(COMPUTE_SUFFIX) else url


class Session:
    def __init__(self, config, timeout=60.0, debug=None, opener=None):
        self.config = config
        self.timeout = timeout
        self.debug = debug  # a callable taking one line, or None
        self._open = opener or urllib.request.urlopen
        self._token = None
        self._endpoints = None

    # --- authentication ---------------------------------------------------------
    def endpoints(self):
        """{"compute": url, "image": url}; authenticates if needed."""
        if self._endpoints is None:
            self._authenticate()
        return self._endpoints

    def _authenticate(self):
        cfg = self.config
        if cfg.auth_type == "password":
            self._password_auth()
            return
        root = api_root(cfg.auth["endpoint"])
        self._endpoints = {"compute": root + COMPUTE_SUFFIX, "image": root + IMAGE_SUFFIX}
        if cfg.auth_type == "noauth":
            self._token = cfg.auth.get("token") or "%s:%s" % (
                cfg.auth.get("user") or "admin", cfg.auth.get("project") or "admin")
        else:
            self._token = cfg.auth["token"]

    def _password_auth(self):
        cfg = self.config
        url = keystone_v3(cfg.auth["auth_url"]) + "/auth/tokens"
        resp = self._send("POST", url, json_body=password_request(cfg.auth), auth=False)
        token = resp.headers.get("x-subject-token")
        if not token:
            raise ApiError("the identity service at %s returned no X-Subject-Token" % url)
        catalog = ((resp.body or {}).get("token") or {}).get("catalog") or []
        endpoints = {}
        for kind in ("compute", "image"):
            found = catalog_endpoint(catalog, kind, cfg.interface, cfg.region_name)
            if found:
                endpoints[kind] = found.rstrip("/")
        if "compute" not in endpoints:
            raise ApiError("no %s compute endpoint%s in the service catalog of %s" % (
                cfg.interface, " in region %s" % cfg.region_name if cfg.region_name else "",
                url))
        endpoints.setdefault("image", api_root(endpoints["compute"]) + IMAGE_SUFFIX)
        self._token = token
        self._endpoints = endpoints

    # --- requests -------------------------------------------------------------------
    def compute(self, method, path, body=None, microversion=None, params=None):
        """A compute API request; the Response (JSON body decoded)."""
        version = microversion or self.config.compute_api_version
        headers = {"OpenStack-API-Version": "compute %s" % version}
        return self._request("compute", method, path, params, json_body=body,
                             headers=headers)

    def image(self, method, path, body=None, params=None, data=None, headers=None):
        """An image API request under ``<image endpoint>/v2``."""
        return self._request("image", method, "/v2" + path, params, json_body=body,
                             headers=headers, data=data)

    def _request(self, service, method, path, params, data=None, **kw):
        """One request; with password auth a 401 (the token expired during a
        long --wait) re-authenticates and retries once, unless the body was
        a stream already consumed."""
        url = self._url(service, path, params)  # authenticates first if needed
        try:
            return self._send(method, url, data=data, **kw)
        except ApiError as exc:
            retry = (exc.status == 401 and self.config.auth_type == "password"
                     and (data is None or isinstance(data, bytes)))
            if not retry:
                raise
        self._trace("token refused: authenticating again")
        self._endpoints = None
        return self._send(method, self._url(service, path, params), data=data, **kw)

    def _url(self, service, path, params):
        url = self.endpoints()[service] + path
        if params:
            query = {k: v for k, v in params.items() if v is not None}
            if query:
                url += "?" + urllib.parse.urlencode(query)
        return url

    def _send(self, method, url, json_body=None, headers=None, data=None, auth=True):
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if auth:
            headers["X-Auth-Token"] = self._token
        self._trace("REQ: %s %s %s%s" % (
            method, url, json.dumps(redact_headers(headers), sort_keys=True),
            " " + redact_body(data.decode("utf-8", "replace")) if isinstance(data, bytes)
            else ""))
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._open(request, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
                resp_headers = {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            self._trace("RESP: %s %s" % (exc.code, redact_body(raw.decode("utf-8", "replace"))))
            raise ApiError(fault_message(raw), exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ApiError("cannot reach %s: %s" % (url, reason)) from None
        self._trace("RESP: %s %s %s" % (status, json.dumps(redact_headers(resp_headers),
                                                          sort_keys=True),
                                        redact_body(raw[:2000].decode("utf-8", "replace"))))
        return Response(status, resp_headers, _decode(raw, method, url))

    def _trace(self, line):
        if self.debug is not None:
            self.debug(line)


def _decode(raw, method, url):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError("%s %s answered with something that is not JSON" % (method, url)) \
            from None
