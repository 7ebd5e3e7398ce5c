"""The WSGI application: pecan behind the request-id and auth middleware.

Pecan dispatches every request to ``RootController._route``, which looks the
method and path up in ``routes.ROUTES``; ``RootController.dispatch`` then
negotiates the microversion, builds the RequestContext and calls the handler
with an ``ApiRequest``. Collaborators (config, database, conductor client,
policy enforcer) are passed in by ``setup_app``; nothing is global.
"""

import json

import pecan
import webob

from vmctl import context as vmctl_context
from vmctl import policies
from vmctl.api import auth
from vmctl.api import errors
from vmctl.api import hooks
from vmctl.api import jsonbody
from vmctl.api import limits
from vmctl.api import microversion as mv
from vmctl.api import middleware
from vmctl.api import routes
from vmctl.api.request import ApiRequest
from vmctl.api.request import Deps
from vmctl.api.request import Reply


class RootController:
    def __init__(self, deps):
        self.deps = deps

    @pecan.expose(content_type="application/json")
    def _route(self, args, request):
        found, params = routes.match(request.method, request.path_info)
        if found is None:
            if params:
                raise errors.MethodNotAllowed(
                    "The method %s is not allowed for this resource (allowed: %s)."
                    % (request.method, ", ".join(sorted(set(params)))))
            raise errors.NotFound("The resource could not be found.")
        _check_json_text(request)
        request.context["vmctl.route"] = (found, params)
        return self.dispatch, []

    @pecan.expose(content_type="application/json")
    @pecan.expose(content_type="application/octet-stream")  # image downloads
    def dispatch(self, *_args, **_kwargs):
        req = pecan.request
        found, params = req.context["vmctl.route"]
        version = None
        if found.versioned:
            version = mv.negotiate(req.headers)
            req.context["vmctl.version"] = version
        api = ApiRequest(self.deps, req, _context(req, found, self.deps.conf),
                         version or mv.min_version())
        result = found.handler(api, **params)
        return _render(result, version)


def _check_json_text(request):
    """400 for a JSON body that is not UTF-8 text or nests too deep for
    json.loads, before pecan reads it as JSON: it would log a traceback
    (and answer 500) for every such request."""
    if request.content_type not in _JSON_TYPES:
        return
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.BadRequest("Malformed request body: not UTF-8 text.") from None
    jsonbody.refuse_too_deep(text)


_JSON_TYPES = ("application/json", "application/javascript")


def _context(req, found, conf):
    identity = req.environ.get(auth.IDENTITY_KEY)
    if identity is None:
        if not found.public:
            raise errors.Unauthorized("Authentication required")
        return None
    roles = identity["roles"]
    admin_project = is_admin_project(identity, conf)
    return vmctl_context.RequestContext(
        user_id=identity["user_id"], project_id=identity["project_id"],
        roles=roles, is_admin="admin" in roles and admin_project,
        is_admin_project=admin_project, overwrite=True,
        request_id=req.environ.get(middleware.REQUEST_ID_KEY),
        global_request_id=req.environ.get(middleware.GLOBAL_REQUEST_ID_KEY))


def is_admin_project(identity, conf):
    """Keystone's ``is_admin_project``: what the identity says, else whether
    its project is ``[identity] admin_project`` (by name, or by id for
    identities that carry no name); every project when that is empty."""
    given = identity.get("is_admin_project")
    if given is not None:
        return bool(given)
    if not conf.identity.admin_project:  # as Keystone with no admin project
        return True
    project = identity.get("project_name") or identity.get("project_id")
    return project is not None and project == conf.identity.admin_project


def _render(result, version):
    if not isinstance(result, Reply):
        result = Reply(200, result)
    if result.body_iter is not None:
        resp = _StreamResponse(status=result.status, charset="utf-8",
                               content_type=result.content_type)
        resp.app_iter = _stream(result.body_iter)
    elif result.body is not None:
        resp = webob.Response(status=result.status, charset="utf-8")
        resp.content_type = "application/json"
        resp.text = json.dumps(result.body)
    else:
        resp = webob.Response(status=result.status, charset="utf-8")
        resp.content_type = None
    for key, value in result.headers.items():
        resp.headers[key] = value
    if version is not None:
        resp.headers.update(mv.response_headers(version))
    return resp


class _StreamResponse(webob.Response):
    """A streamed body. pecan peeks at a generator's first chunk (to turn an
    empty 200 into a 204) and puts a copy back as ``app_iter``, which in
    webob.Response would drop the Content-Length: here it is kept."""

    @property
    def app_iter(self):
        return self._app_iter

    @app_iter.setter
    def app_iter(self, value):
        self._app_iter = value


def _stream(chunks):
    """``chunks`` as a generator: pecan would read any other iterable whole
    to see whether the body is empty."""
    try:
        yield from chunks
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def setup_app(conf, db, conductor, enforcer=None):
    """The full WSGI app: request id + logging, request limits, auth, then pecan."""
    deps = Deps(conf, db, conductor, enforcer or policies.make_enforcer(conf))
    app = pecan.Pecan(RootController(deps), hooks=[hooks.ErrorHook()],
                      force_canonical=False, guess_content_type_from_ext=False)
    app = auth.make_middleware(conf, app, db)
    app = limits.LimitsMiddleware(app, conf)
    return middleware.RequestIdMiddleware(app)
