"""The whole WSGI stack in-process: SQLite file, a recording conductor."""

import json

import pytest
import webob

from tests.fixtures.conf import make_conf
from vmctl.api import app as api_app
from vmctl.db import api as db_api
from vmctl.db import flavors as db_flavors
from vmctl.db import images as db_images
from vmctl.db import instances as db_instances
from vmctl.db import models


class RecordingConductor:
    def __init__(self):
        self.calls = []

    def build_instances(self, ctx, instance_uuids):
        self.calls.append(("build_instances", list(instance_uuids)))

    def instance_action(self, ctx, uuid, action):
        self.calls.append(("instance_action", uuid, action))

    def delete_instance(self, ctx, uuid):
        self.calls.append(("delete_instance", uuid))


@pytest.fixture
def env(tmp_path):
    conf = make_conf(policy_file=tmp_path / "policy.yaml")
    conf.set_override("auth_strategy", "noauth", group="api")  # user:project tokens
    db = db_api.Database("sqlite:///%s" % (tmp_path / "api.sqlite"))
    models.Base.metadata.create_all(db.engine)
    with db.transaction() as session:
        db_flavors.create(session, {"flavorid": "1", "name": "tiny", "vcpus": 1,
                                    "memory_mb": 64, "root_gb": 1})
        # The image every create here boots: public, so any project may.
        db_images.create(session, {"id": "img", "status": "active", "visibility": "public",
                                   "owner": "admin", "properties": {}})
    conductor = RecordingConductor()
    app = api_app.setup_app(conf, db, conductor)

    def call(method, path, body=None, token="bob:p1", version=None, accept=None):
        req = webob.Request.blank(path, method=method)
        if accept:
            req.headers["Accept"] = accept
        if token:
            req.headers["X-Auth-Token"] = token
        if version:
            req.headers["OpenStack-API-Version"] = "compute " + version
        if body is not None:
            req.body = body if isinstance(body, bytes) else json.dumps(body).encode()
            req.content_type = "application/json"
        resp = req.get_response(app)
        return resp, (resp.json if resp.body else None)

    yield call, conductor, db
    db.dispose()


def _create(call, **kw):
    server = {"name": "vm", "flavorRef": "1", "imageRef": "img"}
    server.update(kw)
    return call("POST", "/v2.1/servers", {"server": server})


def test_request_id_and_version_headers(env):
    call, _, _ = env
    resp, body = call("GET", "/v2.1/flavors", version="2.47")
    assert resp.status_int == 200
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    assert resp.headers["x-compute-request-id"] == resp.headers["x-openstack-request-id"]
    assert resp.headers["OpenStack-API-Version"] == "compute 2.47"
    assert "OpenStack-API-Version" in resp.headers["Vary"]


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/json, */*"])
def test_json_accept_headers_are_served(env, accept):
    call, _, _ = env
    resp, body = call("GET", "/v2.1/servers", accept=accept)
    assert resp.status_int == 200, body
    assert resp.content_type == "application/json"


def test_406_is_nova_shaped(env):
    call, _, _ = env
    resp, body = call("GET", "/v2.1/servers", version="9.0")
    assert resp.status_int == 406
    assert body["notAcceptable"]["code"] == 406


def test_401_without_token_but_versions_are_public(env):
    call, _, _ = env
    assert call("GET", "/v2.1/servers", token=None)[0].status_int == 401
    resp, body = call("GET", "/", token=None)
    assert resp.status_int == 200 and body["versions"][0]["id"] == "v2.1"


def test_unexpected_error_is_compute_fault_without_traceback(env, monkeypatch):
    call, _, _ = env

    def explode(*_a, **_kw):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(db_instances, "list_filtered", explode)
    resp, body = call("GET", "/v2.1/servers")
    assert resp.status_int == 500
    assert set(body) == {"computeFault"}
    assert "secret" not in resp.text and "Traceback" not in resp.text


def test_create_many_casts_once(env):
    call, conductor, db = env
    resp, body = _create(call, min_count=3, max_count=3, return_reservation_id=True)
    assert resp.status_int == 202 and body["reservation_id"].startswith("r-")
    assert len(conductor.calls) == 1 and len(conductor.calls[0][1]) == 3
    _, listed = call("GET", "/v2.1/servers/detail")
    assert sorted(s["name"] for s in listed["servers"]) == ["vm-1", "vm-2", "vm-3"]
    assert {s["status"] for s in listed["servers"]} == {"BUILD"}


def test_create_unknown_flavor_is_400(env):
    call, conductor, _ = env
    resp, body = call("POST", "/v2.1/servers",
                      {"server": {"name": "vm", "flavorRef": "9", "imageRef": "i"}})
    assert resp.status_int == 400
    assert body["badRequest"]["message"] == "Flavor 9 could not be found."
    assert conductor.calls == []


def test_malformed_json_is_400(env):
    call, _, _ = env
    resp, body = call("POST", "/v2.1/servers", b"{not json")
    assert resp.status_int == 400 and "badRequest" in body


def test_other_project_gets_404(env):
    call, _, _ = env
    server_id = _create(call)[1]["server"]["id"]
    assert call("GET", "/v2.1/servers/" + server_id, token="eve:p2")[0].status_int == 404
    assert call("DELETE", "/v2.1/servers/" + server_id, token="eve:p2")[0].status_int == 404
    assert call("GET", "/v2.1/servers/" + server_id, token="admin:x")[0].status_int == 200


def test_action_conflict_then_success(env):
    call, conductor, db = env
    server_id = _create(call)[1]["server"]["id"]
    resp, body = call("POST", "/v2.1/servers/%s/action" % server_id, {"os-stop": None})
    assert resp.status_int == 409
    assert "Cannot 'stop' instance %s" % server_id in body["conflictingRequest"]["message"]
    with db.transaction() as session:
        db_instances.compare_and_swap(session, server_id,
                                      {"vm_state": "active", "task_state": None})
    resp, _ = call("POST", "/v2.1/servers/%s/action" % server_id,
                   {"reboot": {"type": "HARD"}})
    assert resp.status_int == 202
    assert conductor.calls[-1] == ("instance_action", server_id, "reboot_hard")
    _, actions = call("GET", "/v2.1/servers/%s/os-instance-actions" % server_id)
    assert [a["action"] for a in actions["instanceActions"]] == ["reboot_hard", "create"]


def test_delete_twice_is_409(env):
    call, conductor, _ = env
    server_id = _create(call)[1]["server"]["id"]
    assert call("DELETE", "/v2.1/servers/" + server_id)[0].status_int == 204
    assert conductor.calls[-1] == ("delete_instance", server_id)
    assert call("DELETE", "/v2.1/servers/" + server_id)[0].status_int == 409


def test_paging_links(env):
    call, _, _ = env
    _create(call, min_count=3, max_count=3)
    _, page = call("GET", "/v2.1/servers?limit=2")
    assert len(page["servers"]) == 2
    href = page["servers_links"][0]["href"]
    assert "marker=%s" % page["servers"][-1]["id"] in href
    _, rest = call("GET", href.replace("http://localhost", ""))
    assert len(rest["servers"]) == 1
