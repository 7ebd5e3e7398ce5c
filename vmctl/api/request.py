"""What a handler gets: ``ApiRequest`` (who asks, at which microversion,
with which collaborators) and what it returns: a dict (200) or a ``Reply``.
"""

import datetime
import functools
import uuid

from vmctl.api import errors
from vmctl.api import jsonbody
from vmctl.api import microversion as mv
from vmctl.api import validation


class Reply:
    """A response other than ``200 {dict}``: another status, headers, no body,
    or a streamed body: ``body_iter`` (a WSGI iterable of bytes, closed by the
    server) of ``content_type``; a ``Content-Length`` goes in ``headers``.
    """

    def __init__(self, status, body=None, headers=None, body_iter=None,
                 content_type=None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.body_iter = body_iter
        self.content_type = content_type


class Deps:
    """The collaborators of every handler, built once by the app and passed in."""

    def __init__(self, conf, db, conductor, enforcer):
        self.conf = conf
        self.db = db
        self.conductor = conductor
        self.enforcer = enforcer


def public_endpoint(conf):
    """The base URL clients are told to use (service catalog, identity
    links, WWW-Authenticate): ``[identity] public_endpoint``, else the
    address the API binds (the host name when it binds every address).
    Never the Host header of a request: a client must not choose the
    links others are given."""
    if conf.identity.public_endpoint:
        return conf.identity.public_endpoint.rstrip("/")
    host = conf.api.listen
    if host in ("", "0.0.0.0", "::"):
        host = conf.host
    if ":" in host:
        host = "[%s]" % host
    return "http://%s:%d" % (host, conf.api.port)


def json_body(req):
    """The request's JSON body; 400 when there is none or it is not JSON."""
    raw = req.body
    if not raw:
        raise errors.BadRequest("The request body is required.")
    return jsonbody.parse_json(raw)


class ApiRequest:
    def __init__(self, deps, req, ctx, version):
        self.conf = deps.conf
        self.db = deps.db
        self.conductor = deps.conductor
        self.enforcer = deps.enforcer
        self.req = req
        self.ctx = ctx
        self.version = version

    # --- identity and policy ----------------------------------------------
    def authorize(self, rule, target=None):
        """Raise 403 unless policy ``rule`` allows this request on ``target``."""
        if not self.can(rule, target):
            raise errors.Forbidden("Policy doesn't allow %s to be performed." % rule)

    def can(self, rule, target=None):
        target = target if target is not None else self.own_target()
        return self.enforcer.authorize(rule, target, self.ctx, do_raise=False)

    def own_target(self):
        return {"project_id": self.ctx.project_id, "user_id": self.ctx.user_id}

    @functools.cached_property
    def is_admin(self):
        return self.enforcer.authorize("context_is_admin", self.own_target(),
                                       self.ctx, do_raise=False)

    def project_scope(self):
        """None for an admin (sees every project), else the caller's project."""
        return None if self.is_admin else self.ctx.project_id

    # --- input -------------------------------------------------------------
    def body(self, schema):
        """The JSON body, validated against ``schema``; 400 when it is not."""
        body = json_body(self.req)
        validation.validate(schema, body)
        return body

    def param(self, name, default=None):
        return self.req.GET.get(name, default)

    # --- links -------------------------------------------------------------
    @functools.cached_property
    def base_url(self):
        return self.req.application_url.rstrip("/")

    def links(self, collection, item_id):
        return [
            {"rel": "self", "href": "%s/v2.1/%s/%s" % (self.base_url, collection, item_id)},
            {"rel": "bookmark", "href": "%s/%s/%s" % (self.base_url, collection, item_id)},
        ]

    def next_link(self, collection, marker):
        """``{collection}_links`` entry pointing at the page after ``marker``."""
        params = [(k, v) for k, v in self.req.GET.items() if k != "marker"]
        params.append(("marker", marker))
        query = "&".join("%s=%s" % (k, v) for k, v in params)
        return [{"rel": "next",
                 "href": "%s/v2.1/%s?%s" % (self.base_url, collection, query)}]

    def require_version(self, version):
        """404 below the microversion that introduced a resource (as Nova)."""
        if not self.version.matches(version):
            raise errors.NotFound("The resource could not be found.")

    def timestamp_param(self, name):
        """An ISO 8601 query parameter as a naive UTC datetime (None if absent)."""
        value = self.param(name)
        if value is None:
            return None
        try:
            stamp = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise errors.BadRequest("%s must be an ISO 8601 timestamp, not %r"
                                    % (name, value)) from None
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return stamp

    def changes_window(self):
        """``changes-since`` and (2.66+) ``changes-before``, each a naive UTC
        datetime or None; 400 when changes-before is the earlier one."""
        since = self.timestamp_param("changes-since")
        before = (self.timestamp_param("changes-before")
                  if self.version.matches(mv.CHANGES_BEFORE) else None)
        if since is not None and before is not None and before < since:
            raise errors.BadRequest("The value of changes-since must be less than or "
                                    "equal to changes-before.")
        return since, before

    @staticmethod
    def new_uuid():
        return str(uuid.uuid4())

    def limit(self):
        """The page size asked for, capped at ``[api] max_limit``."""
        max_limit = self.conf.api.max_limit
        value = self.param("limit")
        if value is None:
            return max_limit
        try:
            limit = int(value)
        except ValueError:
            raise errors.BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise errors.BadRequest("limit param must be positive")
        return min(limit, max_limit)
