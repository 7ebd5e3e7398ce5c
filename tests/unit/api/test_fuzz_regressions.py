"""Regressions found by fuzzing the API (tests/functional/test_api_fuzz.py),
one test each, on the whole WSGI stack in-process."""

from oslo_config import cfg
import pytest
import webob

from vmctl import conf as vmctl_conf
from vmctl.api import app as api_app
from vmctl.db import api as db_api
from vmctl.db import flavors as db_flavors
from vmctl.db import models


@pytest.fixture
def call(tmp_path):
    conf = cfg.ConfigOpts()
    vmctl_conf.register_all(conf)
    conf([], project="vmctl", default_config_files=[])
    conf.set_override("policy_file", str(tmp_path / "policy.yaml"), group="api")
    conf.set_override("auth_strategy", "noauth", group="api")
    db = db_api.Database("sqlite:///%s" % (tmp_path / "api.sqlite"))
    models.Base.metadata.create_all(db.engine)
    with db.transaction() as session:
        db_flavors.create(session, {"flavorid": "1", "name": "tiny", "vcpus": 1,
                                    "memory_mb": 64, "root_gb": 1})
    app = api_app.setup_app(conf, db, conductor=None)

    def call(method, path, body=None, token="admin:admin", headers=None):
        req = webob.Request.blank(path, method=method, headers=headers or {})
        if token:
            req.headers["X-Auth-Token"] = token
        if body is not None:
            req.body = body
            req.content_type = "application/json"
        return req.get_response(app)

    yield call
    db.dispose()


@pytest.mark.parametrize("path,token,status", [
    ("/v2.1/flavors", "admin:admin", 405),  # no HEAD route: 405, headers only
    ("/v2.1/flavors", None, 401),            # refused by the auth middleware
    ("/v2.1/no-such-thing", "admin:admin", 404),
])
def test_head_answers_have_no_body(call, path, token, status):
    """A body on a HEAD answer was read by clients as the next response."""
    resp = call("HEAD", path, token=token)
    assert resp.status_int == status
    assert resp.body == b""
