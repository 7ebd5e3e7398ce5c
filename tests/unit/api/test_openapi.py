"""The OpenAPI document: every route in it, valid OpenAPI 3.1, built from
the schemas the handlers validate with, and served without a token."""

import inspect
import json
import re
import sys

import pytest
import schemathesis
import webob

from tests.fixtures.conf import make_conf
from vmctl.api import app as api_app
from vmctl.api import flavors
from vmctl.api import microversion as mv
from vmctl.api import openapi
from vmctl.api import routes
from vmctl.api import server_actions
from vmctl.api import validation
from vmctl.api.schemas import flavors as flavor_schemas
from vmctl.api.schemas import server_actions as action_schemas
from vmctl.db import api as db_api
from vmctl.db import models


@pytest.fixture(scope="module")
def conf():
    conf = make_conf()
    return conf


@pytest.fixture(scope="module")
def doc(conf):
    return openapi.document(conf, base_url="http://api")


def test_every_route_is_an_operation(doc):
    assert len(routes.ROUTES) > 40
    for route in routes.ROUTES:
        assert route.method.lower() in doc["paths"][route.template], route
    operations = [op for item in doc["paths"].values() for op in item.values()]
    assert len(operations) == len(routes.ROUTES)
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))


def test_document_is_valid_openapi(doc):
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(doc)))
    schema.validate()
    assert len(list(schema.get_all_operations())) == len(routes.ROUTES)


def test_invalid_document_is_refused(doc):
    """The validity check bites: a parameter without ``in`` is refused."""
    broken = json.loads(json.dumps(doc))
    broken["paths"]["/v2.1/flavors/{flavor_id}"]["get"]["parameters"][0].pop("in")
    with pytest.raises(Exception):
        schemathesis.openapi.from_dict(broken).validate()


def test_request_body_is_the_schema_validation_uses(conf, doc):
    version = mv.max_version()
    assert validation.declared_schema(flavors.create, version, conf) \
        is flavor_schemas.create_v255
    assert validation.declared_schema(flavors.create, mv.min_version(), conf) \
        is flavor_schemas.create
    body = doc["paths"]["/v2.1/flavors"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == openapi.to_openapi(
        flavor_schemas.create_v255)


def test_server_action_body_is_one_of_every_action(doc):
    body = doc["paths"]["/v2.1/servers/{server_id}/action"]["post"]["requestBody"]
    one_of = body["content"]["application/json"]["schema"]["oneOf"]
    keys = [next(iter(branch["properties"])) for branch in one_of]
    assert keys == list(action_schemas.ACTIONS)
    for branch in one_of:  # each a whole, non-empty body schema
        assert branch["required"] == [next(iter(branch["properties"]))]
        assert branch["additionalProperties"] is False
    migrate = one_of[keys.index("migrate")]["properties"]["migrate"]
    assert "host" in migrate["properties"]  # 2.56+: the maximum microversion


def test_action_schemas_are_mutually_exclusive(conf):
    """``oneOf`` needs every valid action body to match exactly one branch."""
    schema = server_actions._action_schema(mv.max_version(), conf)
    for body in ({"os-start": None}, {"reboot": {"type": "HARD"}},
                 {"migrate": {"host": "h"}}, {"evacuate": {}},
                 {"os-migrateLive": {"host": None, "block_migration": "auto"}}):
        assert validation.errors_of(schema, body) == [], body
    assert validation.errors_of(schema, {"os-start": None, "os-stop": None})


def test_undeclared_body_is_any_object(conf):
    def handler(api):
        return {}

    doc = openapi.document(conf, route_table=[routes.route("POST", "/v9/things", handler)])
    body = doc["paths"]["/v9/things"]["post"]["requestBody"]
    assert body == {"required": False,
                    "content": {"application/json": {"schema": {"type": "object"}}}}


def test_parameters_security_and_errors(doc):
    op = doc["paths"]["/v2.1/servers/{server_id}"]["get"]
    names = [p.get("name") or p["$ref"].rsplit("/", 1)[-1] for p in op["parameters"]]
    assert names == ["server_id", "microversion", "legacyMicroversion"]
    assert "security" not in op  # the document-wide token applies
    assert set(op["responses"]) == {"200", "400", "401", "403", "404", "406"}
    listing = doc["paths"]["/v2.1/os-migrations"]["get"]["parameters"]
    assert {"limit", "marker", "changes-since"} <= {p.get("name") for p in listing}
    assert doc["paths"]["/"]["get"]["security"] == []
    scheme = doc["components"]["securitySchemes"]["token"]
    assert scheme == dict(scheme, type="apiKey", name="X-Auth-Token", **{"in": "header"})
    versions = doc["components"]["parameters"]["microversion"]["schema"]["enum"]
    assert versions[0] == "compute 2.1" and "compute %s" % mv.MAX_VERSION in versions
    fault = doc["components"]["responses"]["409"]["content"]["application/json"]
    assert fault["schema"] == {"$ref": "#/components/schemas/Fault"}


def test_binary_bodies(doc):
    upload = doc["paths"]["/image/v2/images/{image_id}/file"]["put"]["requestBody"]
    assert list(upload["content"]) == ["application/octet-stream"]
    patch = doc["paths"]["/image/v2/images/{image_id}"]["patch"]["requestBody"]
    assert list(patch["content"]) == ["application/openstack-images-v2.1-json-patch"]


def test_draft4_bounds_become_2020_12():
    schema = {"type": "number", "minimum": 0, "exclusiveMinimum": True,
              "properties": {"x": {"maximum": 5, "exclusiveMaximum": False}}}
    assert openapi.to_openapi(schema) == {
        "type": "number", "exclusiveMinimum": 0,
        "properties": {"x": {"maximum": 5}}}
    assert schema["exclusiveMinimum"] is True  # the original is untouched


def test_served_without_a_token(conf, tmp_path):
    conf.set_override("policy_file", str(tmp_path / "policy.yaml"), group="api")
    db = db_api.Database("sqlite:///%s" % (tmp_path / "api.sqlite"))
    models.Base.metadata.create_all(db.engine)
    try:
        app = api_app.setup_app(conf, db, conductor=None)
        resp = webob.Request.blank(openapi.PATH).get_response(app)
    finally:
        db.dispose()
        conf.clear_override("policy_file", group="api")
    assert resp.status_int == 200, resp.text
    assert resp.json["openapi"] == openapi.OPENAPI_VERSION
    assert resp.json["servers"] == [{"url": "http://localhost"}]


def test_vmctl_manage_writes_the_document(tmp_path, doc):
    from vmctl.cmd import manage

    path = tmp_path / "openapi.json"
    assert manage.main(["--config-file", "/dev/null", "openapi", "--output", str(path)]) == 0
    written = json.loads(path.read_text())
    assert written["paths"].keys() == doc["paths"].keys()
    assert written["servers"] == [{"url": "/"}]


def test_query_parameters_read_are_documented():
    """Every query parameter a handler module names (``api.param("x")``,
    ``timestamp_param("x")``, ``api.limit()``) is documented for one of its
    handlers: add new ones to ``openapi.QUERY_PARAMS``."""
    modules = {}
    for route in routes.ROUTES:
        module = sys.modules[route.handler.__module__]
        modules.setdefault(module, set()).update(openapi.QUERY_PARAMS.get(route.handler, ()))
    missing = {}
    for module, documented in modules.items():
        source = inspect.getsource(module)
        read = set(re.findall(r'param\("([^"]+)"', source))
        if "api.limit()" in source:
            read.add("limit")
        if read - documented:
            missing[module.__name__] = sorted(read - documented)
    assert not missing, "read but not in openapi.QUERY_PARAMS: %s" % missing
