"""The OpenAPI 3.1 description of the API, served at ``GET /v2.1/openapi.json``.

Built on each request from the one route table (``routes.ROUTES``) and the
request schemas the handlers declare with ``validation.request_schema``: the
very schemas they validate with, taken at the maximum microversion (the
server action body is one of every action's body). A handler that declares
nothing still gets its operation, with "any object" as its JSON body.
Request schemas are JSON Schema draft 4; OpenAPI 3.1 speaks 2020-12, so a
copy is translated (``to_openapi``), never the schema itself.
"""

import copy
import re

from vmctl.api import aggregates
from vmctl.api import availability_zones
from vmctl.api import flavor_extra_specs
from vmctl.api import flavors
from vmctl.api import hypervisors
from vmctl.api import images
from vmctl.api import instance_actions
from vmctl.api import live_migrations
from vmctl.api import microversion as mv
from vmctl.api import migrations
from vmctl.api import server_actions
from vmctl.api import server_groups
from vmctl.api import servers
from vmctl.api import services
from vmctl.api import validation
from vmctl.api import versions
from vmctl.api.schemas import parameter_types
from vmctl.identity import api as identity

OPENAPI_VERSION = "3.1.0"
PATH = "/v2.1/openapi.json"
TOKEN_HEADER = "X-Auth-Token"
JSON = validation.JSON
_BODY_METHODS = ("POST", "PUT", "PATCH")
_PATH_PARAM_RE = re.compile(r"\{(\w+)\}")

# The success statuses of a handler; any other handler answers BY_METHOD.
SUCCESS = {
    flavors.create: (200,),
    flavors.delete: (202,),
    flavor_extra_specs.create: (200,),
    flavor_extra_specs.delete: (200,),
    server_actions.action: (200, 202, 204),  # console/evacuate, most, confirmResize
    live_migrations.action: (202,),
    live_migrations.delete: (202,),
    images.versions: (300,),
    images.create: (201,),
    images.upload: (204,),
    images.download: (200, 204),  # 204: no data uploaded yet
    aggregates.create: (200,),
    aggregates.delete: (200, 204),  # an empty 200 reaches the client as a 204 (pecan)
    aggregates.action: (200,),
    server_groups.create: (200,),
    identity.versions: (300,),
    identity.issue_token: (201,),
    identity.revoke_token: (204,),
    identity.create_user: (201,),
    identity.change_password: (204,),
    identity.create_project: (201,),
    identity.create_role: (201,),
    identity.check_grant: (204,),
    identity.create_grant: (204,),
    identity.revoke_grant: (204,),
}
BY_METHOD = {"GET": (200,), "POST": (202,), "PUT": (200,), "PATCH": (200,),
             "DELETE": (204,)}
# The modules whose handlers are described by SUCCESS and BY_METHOD; the
# handlers of any other module are documented as answering "2XX".
DESCRIBED = frozenset(m.__name__ for m in (
    aggregates, availability_zones, flavors, flavor_extra_specs, hypervisors, identity,
    images, instance_actions, live_migrations, migrations, server_actions, server_groups, servers,
    services, versions)) | {__name__}
# Success bodies that are not JSON.
NO_BODY = (204,)
BINARY_BODY = {images.download: images.OCTET_STREAM}

# The query parameters a handler reads.
_PAGING = ("limit", "marker")
_SERVER_FILTERS = ("all_tenants", "project_id", "tenant_id", "name", "status", "host")
QUERY_PARAMS = {
    servers.index: _SERVER_FILTERS + _PAGING,
    servers.detail: _SERVER_FILTERS + _PAGING,
    flavors.index: ("is_public", "minRam", "minDisk") + _PAGING,
    flavors.detail: ("is_public", "minRam", "minDisk") + _PAGING,
    migrations.list_all: ("instance_uuid", "status", "migration_type", "host",
                          "source_compute", "user_id", "project_id", "changes-since",
                          "changes-before") + _PAGING,
    instance_actions.index: ("changes-since", "changes-before") + _PAGING,
    hypervisors.index: ("hypervisor_hostname_pattern", "with_servers"),
    hypervisors.detail: ("hypervisor_hostname_pattern", "with_servers"),
    hypervisors.show: ("with_servers",),
    services.index: ("binary", "host"),
    images.index: images.LIST_PARAMS,
    server_groups.index: ("all_projects", "offset") + _PAGING,
    identity.issue_token: ("nocatalog",),
    identity.validate_token: ("nocatalog",),
    identity.list_domains: ("name",),
    identity.list_users: ("name", "enabled"),
    identity.list_projects: ("name", "enabled"),
    identity.list_roles: ("name",),
    identity.list_role_assignments: tuple(identity.ASSIGNMENT_FILTERS) + (
        "include_names",) + identity.UNSUPPORTED_FILTERS,
}
_COUNT = {"type": "integer", "minimum": 0, "maximum": parameter_types.MAX_INT}
QUERY_SCHEMAS = {
    "limit": _COUNT,
    "minRam": _COUNT,
    "minDisk": _COUNT,
    "offset": _COUNT,
    "changes-since": {"type": "string", "format": "date-time"},
    "changes-before": {"type": "string", "format": "date-time"},
}

# Error statuses every operation may answer, and those of some kinds of route.
ERRORS = (400, 404)
ERRORS_AUTHENTICATED = (401, 403)
ERRORS_VERSIONED = (406,)
ERRORS_WRITE = (409,)
ERRORS_OF = {images.create: (413,), images.update: (413, 415), images.upload: (413, 415)}

FAULT_SCHEMA = {
    "description": 'An error: {"badRequest": {"code": 400, "message": "..."}}, the key '
                   "naming the kind of error (itemNotFound, conflictingRequest, ...).",
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        "required": ["code", "message"],
    },
}


def document(conf, version=None, base_url=None, route_table=None):
    """The OpenAPI document of ``route_table`` (default: every route)."""
    if route_table is None:
        from vmctl.api import routes  # routes imports this module

        route_table = routes.ROUTES
    version = version or mv.max_version()
    paths = {}
    seen_ids = set()
    for route in route_table:
        operation = _operation(route, conf, version)
        if operation["operationId"] in seen_ids:  # one handler, several routes
            operation["operationId"] += "@%s %s" % (route.method, route.template)
        seen_ids.add(operation["operationId"])
        paths.setdefault(route.template, {})[route.method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "vmctl", "version": str(version),
                 "description": "The compute API (microversion %s), the image API and "
                                "the identity API of vmctl. Request bodies are the schemas "
                                "the API validates with." % (version,)},
        "servers": [{"url": base_url or "/"}],
        "paths": paths,
        "security": [{"token": []}],
        "components": _components(),
    }


def _components():
    versions = _accepted_versions() + ["latest"]
    return {
        "securitySchemes": {"token": {
            "type": "apiKey", "in": "header", "name": TOKEN_HEADER,
            "description": "A token of the configured [api] auth_strategy (noauth: "
                           "'user:project')."}},
        "schemas": {"Fault": FAULT_SCHEMA},
        "parameters": {
            "microversion": {
                "name": mv.HEADER, "in": "header", "required": False,
                "description": "The compute microversion: 'compute X.Y' or "
                               "'compute latest' (default %s)." % mv.MIN_VERSION,
                "schema": {"type": "string",
                           "enum": ["%s %s" % (mv.SERVICE_TYPE, v) for v in versions]}},
            "legacyMicroversion": {
                "name": mv.LEGACY_HEADER, "in": "header", "required": False,
                "description": "The microversion, as older clients send it; %s wins."
                               % mv.HEADER,
                "schema": {"type": "string", "enum": versions}},
        },
        "responses": {str(code): _fault_response(code) for code in _all_error_codes()},
    }


def _accepted_versions():
    """Every microversion the API accepts, oldest first (one major version)."""
    low, high = mv.min_version(), mv.max_version()
    return [str(mv.Version(low[0], minor)) for minor in range(low[1], high[1] + 1)]


def _all_error_codes():
    codes = set(ERRORS + ERRORS_AUTHENTICATED + ERRORS_VERSIONED + ERRORS_WRITE)
    for extra in ERRORS_OF.values():
        codes.update(extra)
    return sorted(codes)


def _fault_response(code):
    return {"description": "Error %d" % code,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/Fault"}}}}


def _operation(route, conf, version):
    handler = route.handler
    operation = {
        "operationId": "%s.%s" % (handler.__module__.rsplit(".", 1)[-1], handler.__name__),
        "tags": [handler.__module__.rsplit(".", 1)[-1]],
        "summary": _summary(route),
        "parameters": _parameters(route),
        "responses": _responses(route),
    }
    if route.public:
        operation["security"] = []
    body = _request_body(route, conf, version)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _summary(route):
    doc = (route.handler.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else "%s %s" % (route.method, route.template)


def _parameters(route):
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1}}
              for name in _PATH_PARAM_RE.findall(route.template)]
    params += [{"name": name, "in": "query", "required": False,
                "schema": QUERY_SCHEMAS.get(name, {"type": "string"})}
               for name in QUERY_PARAMS.get(route.handler, ())]
    if route.versioned:
        params += [{"$ref": "#/components/parameters/microversion"},
                   {"$ref": "#/components/parameters/legacyMicroversion"}]
    return params


def _responses(route):
    handler = route.handler
    responses = {}
    for code in _success_codes(route):
        responses[str(code)] = _success(route, code)
    codes = list(ERRORS) + list(ERRORS_OF.get(handler, ()))
    if not route.public:
        codes += ERRORS_AUTHENTICATED
    if route.versioned:
        codes += ERRORS_VERSIONED
    if route.method != "GET":
        codes += ERRORS_WRITE
    for code in sorted(set(codes)):
        responses[str(code)] = {"$ref": "#/components/responses/%d" % code}
    return responses


def _success_codes(route):
    if route.handler.__module__ not in DESCRIBED:
        return ("2XX",)
    return SUCCESS.get(route.handler, BY_METHOD.get(route.method, (200,)))


def _success(route, code):
    response = {"description": "Success"}
    if code in NO_BODY or route.method == "HEAD":
        return response
    media = BINARY_BODY.get(route.handler)
    if media is not None:
        response["content"] = {media: {"schema": {"type": "string", "format": "binary"}}}
    else:
        response["content"] = {JSON: {"schema": {"type": "object"}}}
    return response


def _request_body(route, conf, version):
    if route.method not in _BODY_METHODS:
        return None
    handler = route.handler
    if not hasattr(handler, "request_schema"):
        return {"required": False, "content": {JSON: {"schema": {"type": "object"}}}}
    schema = validation.declared_schema(handler, version, conf)
    if schema is None:
        schema = {"type": "string", "format": "binary"}
    return {"required": True,
            "content": {handler.request_content_type: {"schema": to_openapi(schema)}}}


def ecma_pattern(pattern):
    """A Python pattern in ECMAScript's dialect: ``\\Z`` (end of text) is
    ``$`` there (which, unlike Python's, never matches before a newline)."""
    return pattern.replace("\\Z", "$")


def to_openapi(schema):
    """A copy of a draft 4 JSON Schema in the 2020-12 dialect of OpenAPI 3.1:
    boolean ``exclusiveMinimum``/``exclusiveMaximum`` become the bound."""
    if isinstance(schema, list):
        return [to_openapi(item) for item in schema]
    if not isinstance(schema, dict):
        return copy.deepcopy(schema)
    out = {key: to_openapi(value) for key, value in schema.items()}
    if isinstance(out.get("pattern"), str):
        out["pattern"] = ecma_pattern(out["pattern"])
    if isinstance(out.get("patternProperties"), dict):
        out["patternProperties"] = {ecma_pattern(key): value
                                    for key, value in out["patternProperties"].items()}
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(exclusive), bool):
            if out.pop(exclusive) and bound in out:
                out[exclusive] = out.pop(bound)
    return out


def show(api):
    """The OpenAPI 3.1 description of this API."""
    return document(api.conf, base_url=api.base_url)
