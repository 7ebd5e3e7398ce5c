"""The image service (Glance v2-compatible) through the whole WSGI stack,
in-process: SQLite file, image files in a temp data_dir."""

import hashlib
import io
import json
import os
import threading

import pytest
import webob

from tests.fixtures import crafted_images
from tests.fixtures.conf import make_conf
from vmctl.api import app as api_app
from vmctl.api import routes
from vmctl.db import api as db_api
from vmctl.db import images as db_images
from vmctl.db import models
from vmctl.images import exception as image_exc
from vmctl.images import states
from vmctl.images import store as image_store

PATCH = "application/openstack-images-v2.1-json-patch"
DATA = os.urandom(200 * 1024 + 7)  # several store chunks, not a multiple


class Env:
    def __init__(self, tmp_path):
        self.conf = make_conf(policy_file=tmp_path / "policy.yaml")
        self.conf.set_override("auth_strategy", "noauth", group="api")  # user:project tokens
        self.data_dir = tmp_path / "images"
        self.conf.set_override("data_dir", str(self.data_dir), group="image")
        self.db = db_api.Database("sqlite:///%s" % (tmp_path / "api.sqlite"))
        models.Base.metadata.create_all(self.db.engine)
        self.app = api_app.setup_app(self.conf, self.db, None)

    def call(self, method, path, body=None, token="bob:p1", content_type=None,
             headers=None, environ=None):
        req = webob.Request.blank("/image/v2" + path, method=method)
        if token:
            req.headers["X-Auth-Token"] = token
        req.headers.update(headers or {})
        if body is not None:
            req.body = body if isinstance(body, bytes) else json.dumps(body).encode()
            req.content_type = content_type or "application/json"
        req.environ.update(environ or {})
        resp = req.get_response(self.app)
        is_json = resp.content_type == "application/json" and resp.body
        return resp, (resp.json if is_json else None)

    def create(self, token="bob:p1", **kw):
        body = {"name": "cirros", "disk_format": "raw", "container_format": "bare"}
        body.update(kw)
        resp, image = self.call("POST", "/images", body, token=token)
        assert resp.status_int == 201, image
        return image

    def upload(self, image_id, data=DATA, token="bob:p1"):
        return self.call("PUT", "/images/%s/file" % image_id, data, token=token,
                         content_type="application/octet-stream")

    def active(self, token="bob:p1", **kw):
        image = self.create(token=token, **kw)
        assert self.upload(image["id"], token=token)[0].status_int == 204
        return image["id"]

    def files(self):
        return sorted(os.listdir(self.data_dir)) if self.data_dir.exists() else []


@pytest.fixture
def env(tmp_path):
    env = Env(tmp_path)
    yield env
    env.db.dispose()


def _status(env, image_id):
    return env.call("GET", "/images/" + image_id, token="admin:x")[1]["status"]


def test_versions_are_public_and_list_v2():
    for path in ("/image", "/image/versions"):
        assert routes.is_public("GET", path)


def test_version_documents(env):
    resp = webob.Request.blank("/image").get_response(env.app)
    assert resp.status_int == 300
    versions = resp.json["versions"]
    assert versions[0] == {"id": "v2.7", "status": "CURRENT", "links": [
        {"rel": "self", "href": "http://localhost/image/v2/"}]}
    assert {v["id"] for v in versions} >= {"v2.0", "v2.1"}
    resp = webob.Request.blank("/image/versions").get_response(env.app)
    assert resp.status_int == 200 and resp.json["versions"] == versions
    assert "OpenStack-API-Version" not in resp.headers


def test_create_upload_show_download_delete(env):
    resp, image = env.call("POST", "/images", {
        "name": "cirros", "disk_format": "raw", "container_format": "bare",
        "visibility": "private", "min_disk": 1, "min_ram": 64, "tags": ["a", "a", "b"],
        "kernel_id": "k-1", "ramdisk_id": "r-1", "os_command_line": "console=ttyS0"})
    assert resp.status_int == 201, image
    image_id = image["id"]
    assert resp.headers["Location"].endswith("/image/v2/images/" + image_id)
    assert image["status"] == "queued" and image["size"] is None
    assert image["owner"] == "p1" and image["tags"] == ["a", "b"]
    assert image["kernel_id"] == "k-1" and image["os_command_line"] == "console=ttyS0"
    assert image["self"] == "/v2/images/" + image_id
    assert image["file"] == "/v2/images/%s/file" % image_id
    assert image["schema"] == "/v2/schemas/image"
    for key in ("virtual_size", "checksum", "os_hash_algo", "os_hash_value",
                "created_at", "updated_at", "protected", "visibility"):
        assert key in image

    resp, _ = env.upload(image_id)
    assert resp.status_int == 204
    resp, shown = env.call("GET", "/images/" + image_id)
    assert resp.status_int == 200
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert shown["os_hash_algo"] == "sha256"
    assert shown["os_hash_value"] == hashlib.sha256(DATA).hexdigest()
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert env.files() == [image_id]

    resp, _ = env.call("GET", "/images/%s/file" % image_id,
                       headers={"Accept": "application/octet-stream"})
    assert resp.status_int == 200 and resp.body == DATA
    assert resp.content_type == "application/octet-stream"
    assert resp.headers["Content-Length"] == str(len(DATA))
    assert resp.headers["Content-MD5"] == shown["checksum"]
    assert resp.headers["OpenStack-Image-Hash"] == "sha256 " + shown["os_hash_value"]

    resp, _ = env.call("DELETE", "/images/" + image_id)
    assert resp.status_int == 204
    assert env.call("GET", "/images/" + image_id)[0].status_int == 404
    assert env.files() == []
    # A deleted image's id is not reused.
    resp, body = env.call("POST", "/images", {"id": image_id})
    assert resp.status_int == 409


def test_create_with_id_and_duplicate(env):
    image_id = "9b8a0b3e-2a33-4f0d-8c3e-0d5e1a1b2c3d"
    assert env.create(id=image_id)["id"] == image_id
    resp, body = env.call("POST", "/images", {"id": image_id})
    assert resp.status_int == 409
    assert "already exists" in body["conflictingRequest"]["message"]


@pytest.mark.parametrize("field,value", [
    ("disk_format", "vhd"), ("container_format", "ovf"), ("visibility", "everyone"),
    ("min_disk", -1), ("protected", "yes"), ("id", "not-a-uuid"), ("kernel_id", 5),
])
def test_create_invalid_field_is_400_naming_it(env, field, value):
    resp, body = env.call("POST", "/images", {"name": "x", field: value})
    assert resp.status_int == 400, body
    assert "field/attribute %s." % field in body["badRequest"]["message"]


@pytest.mark.parametrize("field", ["status", "size", "checksum", "os_hash_value", "self"])
def test_create_read_only_field_is_403(env, field):
    resp, body = env.call("POST", "/images", {"name": "x", field: "1"})
    assert resp.status_int == 403
    assert field in body["forbidden"]["message"]


def test_public_needs_admin_community_does_not(env):
    resp, body = env.call("POST", "/images", {"name": "x", "visibility": "public"})
    assert resp.status_int == 403 and "publicize_image" in body["forbidden"]["message"]
    assert env.create(token="admin:adm", visibility="public")["visibility"] == "public"
    assert env.create(visibility="community")["visibility"] == "community"


def test_visibility_between_projects(env):
    private = env.active(visibility="private")
    shared = env.create(visibility="shared")["id"]
    public = env.create(token="admin:adm", visibility="public")["id"]
    community = env.create(visibility="community")["id"]
    for image_id in (private, shared):
        for method, path in (("GET", ""), ("GET", "/file"), ("DELETE", ""),
                             ("PUT", "/file")):
            resp, body = env.call(method, "/images/%s%s" % (image_id, path),
                                  token="eve:p2", body=b"" if method == "PUT" else None,
                                  content_type="application/octet-stream")
            assert resp.status_int == 404, (method, path, body)
    for image_id in (public, community):
        assert env.call("GET", "/images/" + image_id, token="eve:p2")[0].status_int == 200
    # Seen but not theirs: changing someone else's image is a 403.
    assert env.call("DELETE", "/images/" + community, token="eve:p2")[0].status_int == 403
    listed = {i["id"] for i in env.call("GET", "/images", token="eve:p2")[1]["images"]}
    assert listed == {public}
    listed = env.call("GET", "/images?visibility=community", token="eve:p2")[1]["images"]
    assert [i["id"] for i in listed] == [community]
    listed = {i["id"] for i in env.call("GET", "/images", token="admin:adm")[1]["images"]}
    assert listed == {private, shared, public, community}
    resp, _ = env.call("GET", "/images/%s/file" % private, token="admin:adm")
    assert resp.status_int == 200 and resp.body == DATA


def test_list_filters_and_paging(env):
    ids = [env.create(name="img-%d" % n)["id"] for n in range(5)]
    env.upload(ids[0])
    resp, body = env.call("GET", "/images")
    assert resp.status_int == 200
    assert [i["id"] for i in body["images"]] == ids[::-1]  # newest first
    assert body["first"] == "/v2/images" and body["schema"] == "/v2/schemas/images"
    assert "next" not in body

    assert [i["id"] for i in env.call("GET", "/images?name=img-3")[1]["images"]] == [ids[3]]
    assert [i["id"] for i in env.call("GET", "/images?status=active")[1]["images"]] == [ids[0]]
    body = env.call("GET", "/images?id=in:%s,%s" % (ids[1], ids[4]))[1]
    assert {i["id"] for i in body["images"]} == {ids[1], ids[4]}
    body = env.call("GET", '/images?name=in:"img-1",img-2')[1]
    assert {i["id"] for i in body["images"]} == {ids[1], ids[2]}

    seen, path = [], "/images?limit=2"
    while path:
        resp, body = env.call("GET", path)
        assert resp.status_int == 200 and len(body["images"]) <= 2
        assert body["first"] == "/v2/images?limit=2"
        seen += [i["id"] for i in body["images"]]
        path = body.get("next", "").replace("/v2", "", 1)
    assert seen == ids[::-1]

    resp, body = env.call("GET", "/images?marker=" + "0" * 8 + "-0000-0000-0000-" + "0" * 12)
    assert resp.status_int == 400 and "marker" in body["badRequest"]["message"]
    assert env.call("GET", "/images?visibility=nope")[0].status_int == 400
    resp, body = env.call("GET", "/images?sort_key=name")
    assert resp.status_int == 400 and "sort_key" in body["badRequest"]["message"]


def test_upload_twice_is_409(env):
    image_id = env.active()
    resp, body = env.upload(image_id, b"other")
    assert resp.status_int == 409
    assert "status active" in body["conflictingRequest"]["message"]
    resp, _ = env.call("GET", "/images/%s/file" % image_id)
    assert resp.body == DATA


def test_refused_upload_body_is_read_in_chunks(env):
    """cheroot would read an unread body whole into memory: the handler
    drains it in bounded chunks instead."""
    image_id = env.active()

    class Stream(io.BytesIO):
        largest = 0

        def read(self, size=-1):
            Stream.largest = max(Stream.largest, size)
            return super().read(size)

    stream = Stream(b"x" * 3_000_000)
    resp, _ = env.call("PUT", "/images/%s/file" % image_id, headers={
        "Content-Type": "application/octet-stream"}, environ={
        "wsgi.input": stream, "CONTENT_LENGTH": "3000000", "webob.is_body_seekable": False})
    assert resp.status_int == 409
    assert stream.tell() == 3_000_000 and 0 < Stream.largest <= 1024 * 1024


def test_upload_needs_octet_stream(env):
    image_id = env.create()["id"]
    resp, _ = env.call("PUT", "/images/%s/file" % image_id, b"x", content_type="text/plain")
    assert resp.status_int == 415
    assert _status(env, image_id) == "queued"


def test_oversize_declared_is_413_without_reading(env):
    env.conf.set_override("image_size_cap", 1024, group="image")
    image_id = env.create()["id"]
    resp, body = env.upload(image_id, b"x" * 1025)
    assert resp.status_int == 413 and "overLimit" in body
    assert _status(env, image_id) == "queued" and env.files() == []
    assert env.upload(image_id, b"x" * 1024)[0].status_int == 204


def test_oversize_chunked_is_413_and_partial_removed(env):
    env.conf.set_override("image_size_cap", 100 * 1024, group="image")
    image_id = env.create()["id"]
    # Chunked: no Content-Length, the limit is found while streaming.
    stream = {"wsgi.input": io.BytesIO(b"x" * (100 * 1024 + 1)),
              "wsgi.input_terminated": True}
    resp, body = env.call("PUT", "/images/%s/file" % image_id, headers={
        "Content-Type": "application/octet-stream"}, environ=stream)
    assert resp.status_int == 413, body
    assert _status(env, image_id) == "queued" and env.files() == []


def test_aborted_upload_back_to_queued(env):
    image_id = env.create()["id"]
    # The client promised 1000 bytes and went away after 10.
    environ = {"wsgi.input": io.BytesIO(b"x" * 10), "CONTENT_LENGTH": "1000",
               "webob.is_body_seekable": False}
    resp, body = env.call("PUT", "/images/%s/file" % image_id, headers={
        "Content-Type": "application/octet-stream"}, environ=environ)
    assert resp.status_int == 400, body
    assert "did not complete" in body["badRequest"]["message"]
    assert _status(env, image_id) == "queued" and env.files() == []
    assert env.upload(image_id)[0].status_int == 204


def test_store_failure_kills_image(env, monkeypatch):
    image_id = env.create()["id"]

    def disk_full(*_a, **_kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    resp, body = env.upload(image_id)
    assert resp.status_int == 500 and set(body) == {"computeFault"}
    assert _status(env, image_id) == "killed" and env.files() == []
    monkeypatch.undo()
    assert env.upload(image_id)[0].status_int == 409
    assert env.call("DELETE", "/images/" + image_id)[0].status_int == 204


def test_delete_during_upload_removes_data(env):
    image_id = env.create()["id"]

    deleted = []

    def delete():  # another request, on another thread (as the server runs it)
        deleted.append(_status(env, image_id))
        deleted.append(env.call("DELETE", "/images/" + image_id)[0].status_int)

    class DeletingStream(io.BytesIO):
        def read(self, size=-1):
            if self.tell() == 0:
                thread = threading.Thread(target=delete)
                thread.start()
                thread.join()
            return super().read(size)

    resp, body = env.call("PUT", "/images/%s/file" % image_id, headers={
        "Content-Type": "application/octet-stream"},
        environ={"wsgi.input": DeletingStream(DATA), "CONTENT_LENGTH": str(len(DATA))})
    assert deleted == ["saving", 204]
    assert resp.status_int == 404, body
    assert env.files() == []


def test_download_is_streamed_not_buffered(env, monkeypatch):
    """pecan peeks at the body (empty 200 -> 204): it must see a generator,
    take one chunk only, and keep the Content-Length."""
    image_id = env.active()
    pulled = []

    class Chunks:  # a plain iterable with close(), as the store returns
        closed = False

        def __iter__(self):
            for n in range(len(DATA) // 1024 + 1):
                pulled.append(n)
                yield DATA[n * 1024:(n + 1) * 1024]

        def close(self):
            Chunks.closed = True

    monkeypatch.setattr(image_store.FileStore, "open_chunks", lambda *a: Chunks())
    req = webob.Request.blank("/image/v2/images/%s/file" % image_id)
    req.headers["X-Auth-Token"] = "bob:p1"
    status, headers, app_iter = req.call_application(env.app)
    assert status.startswith("200") and len(pulled) <= 1
    assert dict(headers)["Content-Length"] == str(len(DATA))
    assert b"".join(app_iter) == DATA and Chunks.closed


def test_download_without_data_is_204(env):
    image_id = env.create()["id"]
    resp, _ = env.call("GET", "/images/%s/file" % image_id)
    assert resp.status_int == 204 and resp.body == b""


def test_corrupt_data_on_disk_is_409(env):
    image_id = env.active()
    path = env.data_dir / image_id
    path.write_bytes(b"X" + DATA[1:])  # same size, different bytes
    resp, body = env.call("GET", "/images/%s/file" % image_id)
    assert resp.status_int == 409
    message = body["conflictingRequest"]["message"]
    assert "is corrupt" in message and "sha256" in message
    path.write_bytes(DATA[:-1])
    resp, body = env.call("GET", "/images/%s/file" % image_id)
    assert resp.status_int == 409 and "bytes on disk" in resp.text
    path.unlink()
    resp, body = env.call("GET", "/images/%s/file" % image_id)
    assert resp.status_int == 409 and "missing" in resp.text
    assert "Traceback" not in resp.text


def test_data_changed_while_sending_breaks_off(tmp_path):
    store = image_store.FileStore(str(tmp_path), chunk_size=4)
    hashes = store.write("img", io.BytesIO(b"0123456789"), max_bytes=100)
    (tmp_path / "img").write_bytes(b"0123456780")
    sent = []
    with pytest.raises(image_exc.ImageDataCorrupt):
        for chunk in store.open_chunks("img", hashes.size, hashes.os_hash_value):
            sent.append(chunk)
    assert b"".join(sent) == b"01234567"  # the last chunk is never sent
    (tmp_path / "img").write_bytes(b"0123456789")
    chunks = store.open_chunks("img", hashes.size, hashes.os_hash_value)
    assert b"".join(chunks) == b"0123456789"


def test_protected_image_cannot_be_deleted(env):
    image_id = env.create(protected=True)["id"]
    resp, body = env.call("DELETE", "/images/" + image_id)
    assert resp.status_int == 403 and "protected" in body["forbidden"]["message"]
    resp, _ = env.call("PATCH", "/images/" + image_id,
                       [{"op": "replace", "path": "/protected", "value": False}],
                       content_type=PATCH)
    assert resp.status_int == 200
    assert env.call("DELETE", "/images/" + image_id)[0].status_int == 204


def test_patch_name_and_properties(env):
    image_id = env.create(kernel_id="k-1")["id"]
    resp, image = env.call("PATCH", "/images/" + image_id, [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/os_command_line", "value": "console=ttyS0"},
        {"op": "replace", "path": "/kernel_id", "value": "k-2"},
        {"op": "add", "path": "/tags", "value": ["x"]},
    ], content_type=PATCH)
    assert resp.status_int == 200, image
    assert image["name"] == "renamed" and image["tags"] == ["x"]
    assert image["os_command_line"] == "console=ttyS0" and image["kernel_id"] == "k-2"
    resp, image = env.call("PATCH", "/images/" + image_id, [
        {"op": "remove", "path": "/kernel_id"}], content_type=PATCH)
    assert resp.status_int == 200 and "kernel_id" not in image
    assert env.call("GET", "/images/" + image_id)[1]["os_command_line"] == "console=ttyS0"


@pytest.mark.parametrize("ops,status", [
    ([{"op": "replace", "path": "/status", "value": "active"}], 403),
    ([{"op": "replace", "path": "/id", "value": "x"}], 403),
    ([{"op": "remove", "path": "/name"}], 403),
    ([{"op": "remove", "path": "/nope"}], 409),
    ([{"op": "replace", "path": "/nope", "value": "x"}], 409),
    ([{"op": "add", "path": "/disk_format", "value": "vhd"}], 400),
    ([{"op": "add", "path": "/prop", "value": 1}], 400),
    ([{"op": "add", "path": "/prop"}], 400),
    ([{"op": "move", "path": "/name"}], 400),
    ([{"op": "replace", "path": "/visibility", "value": "public"}], 403),
])
def test_patch_errors(env, ops, status):
    image_id = env.create()["id"]
    resp, body = env.call("PATCH", "/images/" + image_id, ops, content_type=PATCH)
    assert resp.status_int == status, body


def test_patch_needs_json_patch_type(env):
    image_id = env.create()["id"]
    resp, _ = env.call("PATCH", "/images/" + image_id,
                       [{"op": "replace", "path": "/name", "value": "x"}])
    assert resp.status_int == 415


def test_patch_formats_only_while_queued(env):
    image_id = env.active()
    resp, body = env.call("PATCH", "/images/" + image_id, [
        {"op": "replace", "path": "/disk_format", "value": "qcow2"}], content_type=PATCH)
    assert resp.status_int == 403 and "queued" in body["forbidden"]["message"]


def test_schemas(env):
    resp, body = env.call("GET", "/schemas/image")
    assert resp.status_int == 200 and body["name"] == "image"
    assert body["additionalProperties"] == {"type": "string"}
    assert "raw" in body["properties"]["disk_format"]["enum"]
    resp, body = env.call("GET", "/schemas/images")
    assert resp.status_int == 200 and body["name"] == "images"


def test_status_swaps_refuse_illegal_moves(env):
    image_id = env.create()["id"]
    with env.db.transaction() as session:
        with pytest.raises(image_exc.ImageInvalidState):
            db_images.transition(session, image_id, "finish")
    with env.db.transaction() as session:
        db_images.transition(session, image_id, "upload")
    assert _status(env, image_id) == states.SAVING
    with env.db.transaction() as session:
        db_images.delete(session, image_id)
    with env.db.transaction() as session:
        with pytest.raises(image_exc.ImageNotFound):
            db_images.transition(session, image_id, "finish")


def test_every_status_is_reachable_in_the_table():
    targets = {t.to_status for t in states.TRANSITIONS.values()}
    sources = {s for t in states.TRANSITIONS.values() for s in t.from_statuses}
    assert targets | sources == set(states.STATUSES)
    assert states.DELETED not in sources  # terminal


# --- content inspection and project limits ------------------------------------

@pytest.mark.parametrize("name", ["qcow2-data-file", "qcow2-backing-file", "qcow2-as-raw",
                                  "vmdk-extent-path", "iso-as-raw", "raw-as-qcow2"])
def test_crafted_upload_is_refused_and_killed(env, tmp_path, name):
    declared, says = crafted_images.REFUSED[name]
    image_id = env.create(disk_format=declared)["id"]
    data = open(crafted_images.make(name, tmp_path), "rb").read()
    resp, body = env.upload(image_id, data)
    assert resp.status_int == 400, body
    message = body["badRequest"]["message"]
    assert message.startswith("Image %s was refused: " % image_id) and says in message
    image = env.call("GET", "/images/" + image_id)[1]
    assert (image["status"], image["size"], image["checksum"]) == ("killed", None, None)
    assert env.files() == []
    assert env.call("GET", "/images/%s/file" % image_id)[0].status_int == 204
    assert env.upload(image_id, data)[0].status_int == 409  # never again


def test_inspected_upload_records_virtual_size(env, tmp_path):
    crafted_images.qemu_img("create", "-q", "-f", "qcow2", str(tmp_path / "q"), "5M")
    image_id = env.create(disk_format="qcow2")["id"]
    assert env.upload(image_id, (tmp_path / "q").read_bytes())[0].status_int == 204
    image = env.call("GET", "/images/" + image_id)[1]
    assert image["status"] == "active" and image["virtual_size"] == 5 * 1024 * 1024


def test_image_count_limit_is_413(env):
    env.conf.set_override("image_count_total", 2, group="image")
    env.create()
    env.create()
    resp, body = env.call("POST", "/images", {"name": "third", "disk_format": "raw"})
    assert resp.status_int == 413 and "image_count_total" in body["overLimit"]["message"]
    # Per project: another project still may; -1 lifts the limit.
    assert env.create(token="carol:p2")["id"]
    env.conf.set_override("image_count_total", -1, group="image")
    assert env.create()["id"]


def test_stored_total_limit_declared_and_streamed(env):
    env.conf.set_override("image_stored_total", 1, group="image")  # MiB
    first = env.create()["id"]
    assert env.upload(first, b"x" * (700 * 1024))[0].status_int == 204
    second = env.create()["id"]
    resp, body = env.upload(second, b"x" * (400 * 1024))  # declared length: not read
    assert resp.status_int == 413 and "image_stored_total" in body["overLimit"]["message"]
    assert _status(env, second) == "queued"
    chunked = {"wsgi.input": io.BytesIO(b"x" * (400 * 1024)), "wsgi.input_terminated": True}
    resp, body = env.call("PUT", "/images/%s/file" % second, headers={
        "Content-Type": "application/octet-stream"}, environ=chunked)
    assert resp.status_int == 413 and "image_stored_total" in body["overLimit"]["message"]
    assert _status(env, second) == "queued" and env.files() == [first]
    assert env.upload(second, b"x" * (300 * 1024))[0].status_int == 204
    assert env.upload(env.create(token="carol:p2")["id"], b"x" * (900 * 1024),
                      token="carol:p2")[0].status_int == 204
