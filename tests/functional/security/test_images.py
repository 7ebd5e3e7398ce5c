"""Image content is inspected, not trusted (issue 21, high 3) and the image
service's per-project limits (medium 6), against real daemons.

Every crafted image is made with the real qemu-img (tests/fixtures/
crafted_images.py) and uploaded through the running vmctl-api; a refused
upload is a 400 naming the reason, the image ends ``killed`` with no data,
and the computes' own path (image client + image cache + base-image check,
real qemu-img) refuses it too, even when such data got into the store some
other way (an image uploaded before inspection existed).
"""

import hashlib
import os
import re

import pytest
import requests

from tests.fixtures import crafted_images
from tests.fixtures.conf import make_conf
from vmctl.image_client import client as image_client
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import imagecache

MiB = 1024 * 1024
# The size cap fits the largest crafted image (an 8 MiB VHDX).
LIMITS = {"image_count_total": 3, "image_stored_total": 12, "image_size_cap": 9 * MiB}


@pytest.fixture(scope="module")
def cloud(cloud_factory):
    return cloud_factory("images", computes=1, conf_overrides={"image": LIMITS})


class Images:
    """The image API as one project (noauth ``user:project`` tokens)."""

    def __init__(self, cloud, project):
        self.base = "http://127.0.0.1:%d/image/v2" % cloud.api_port
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = "user-%s:%s" % (project, project)

    def create(self, disk_format="raw", expect=201):
        resp = self.session.post(self.base + "/images", timeout=30, json={
            "name": "crafted", "disk_format": disk_format, "container_format": "bare"})
        assert resp.status_code == expect, resp.text
        return resp.json()

    def upload(self, image_id, data):
        return self.session.put("%s/images/%s/file" % (self.base, image_id), data=data,
                                headers={"Content-Type": "application/octet-stream"},
                                timeout=60)

    def show(self, image_id):
        resp = self.session.get("%s/images/%s" % (self.base, image_id), timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def download_status(self, image_id):
        return self.session.get("%s/images/%s/file" % (self.base, image_id),
                                timeout=30).status_code


def _project(name):
    return re.sub(r"[^a-z0-9]", "", name)[:40]


def _stored_files(cloud):
    data_dir = os.path.join(cloud.state_path, "images")
    return sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else []


@pytest.mark.parametrize("name", sorted(crafted_images.REFUSED))
def test_crafted_upload_is_refused(cloud, tmp_path, name):
    declared, says = crafted_images.REFUSED[name]
    images = Images(cloud, _project(name))
    image_id = images.create(declared)["id"]
    data = open(crafted_images.make(name, tmp_path), "rb").read()
    resp = images.upload(image_id, data)
    assert resp.status_code == 400, resp.text
    message = resp.json()["badRequest"]["message"]
    assert message.startswith("Image %s was refused: " % image_id) and says in message
    image = images.show(image_id)
    assert (image["status"], image["size"], image["os_hash_value"]) == ("killed", None, None)
    assert images.download_status(image_id) == 204
    assert not [f for f in _stored_files(cloud) if f.startswith(image_id)]


@pytest.mark.parametrize("name", sorted(crafted_images.ACCEPTED))
def test_good_image_becomes_active(cloud, tmp_path, name):
    declared, _detected = crafted_images.ACCEPTED[name]
    images = Images(cloud, "good" + _project(name))
    image_id = images.create(declared)["id"]
    data = open(crafted_images.make(name, tmp_path), "rb").read()
    assert images.upload(image_id, data).status_code == 204
    image = images.show(image_id)
    assert image["status"] == "active" and image["size"] == len(data)


def _compute_fetch(cloud, tmp_path, image_id, disk_format):
    """What a compute does before a disk uses an image: download it with
    its image client into its cache and check it (real qemu-img)."""
    conf = make_conf()
    conf.set_override("api_url", "http://127.0.0.1:%d/image" % cloud.api_port, group="image")
    client = image_client.ImageClient(conf)
    cache = imagecache.ImageCache(str(tmp_path / "_base"), str(tmp_path / "instances"), 60)
    try:
        return cache.fetch(image_id, disk_format, client.download,
                           lambda path: disk.check_base_image(path, disk_format))
    finally:
        # Refused: nothing left in the cache but its lock file.
        leftovers = {p.name for p in (tmp_path / "_base").iterdir()}
        assert leftovers in ({"locks"}, {"locks", image_id, image_id + ".info"})


def test_refused_image_never_reaches_a_compute(cloud, tmp_path):
    images = Images(cloud, "neverreaches")
    image_id = images.create("qcow2")["id"]
    data = open(crafted_images.make("qcow2-data-file", tmp_path), "rb").read()
    assert images.upload(image_id, data).status_code == 400
    with pytest.raises(image_client.ImageError, match="is not active .status killed"):
        _compute_fetch(cloud, tmp_path, image_id, "qcow2")


@pytest.mark.parametrize("name", ["qcow2-data-file", "qcow2-backing-file", "qcow2-as-raw",
                                  "vmdk-extent-path"])
def test_compute_refuses_unsafe_data_already_stored(cloud, tmp_path, name):
    """Data stored before uploads were inspected (here: written into the
    store behind the API's back, its record made to match) is refused by
    the compute before qemu or a guest ever opens it."""
    declared, says = crafted_images.REFUSED[name]
    images = Images(cloud, "legacy" + _project(name))
    image_id = images.create(declared)["id"]
    good = crafted_images.make("qcow2" if declared == "qcow2" else "raw", tmp_path)
    assert images.upload(image_id, open(good, "rb").read()).status_code == 204
    data = open(crafted_images.make(name, tmp_path), "rb").read()
    with open(os.path.join(cloud.state_path, "images", image_id), "wb") as f:
        f.write(data)
    _record_data(cloud, image_id, data)
    with pytest.raises(disk.DiskError, match=re.escape(says)):
        _compute_fetch(cloud, tmp_path, image_id, declared)


def _record_data(cloud, image_id, data):
    from vmctl.db import models

    with cloud.db().transaction() as session:
        row = session.get(models.Image, image_id)
        row.size = len(data)
        row.checksum = hashlib.md5(data, usedforsecurity=False).hexdigest()
        row.os_hash_value = hashlib.sha256(data).hexdigest()


def test_good_image_reaches_a_compute(cloud, tmp_path):
    images = Images(cloud, "reaches")
    image_id = images.create("qcow2")["id"]
    data = open(crafted_images.make("qcow2", tmp_path), "rb").read()
    assert images.upload(image_id, data).status_code == 204
    path = _compute_fetch(cloud, tmp_path, image_id, "qcow2")
    assert open(path, "rb").read() == data


# --- limits -------------------------------------------------------------------

def test_image_count_limit(cloud):
    images = Images(cloud, "countlimit")
    for _ in range(LIMITS["image_count_total"]):
        images.create()
    resp = images.session.post(images.base + "/images", json={"name": "one-more"},
                               timeout=30)
    assert resp.status_code == 413, resp.text
    assert "image_count_total" in resp.json()["overLimit"]["message"]
    assert Images(cloud, "countother").create()["id"]


def test_image_size_cap(cloud):
    images = Images(cloud, "sizecap")
    image_id = images.create()["id"]
    resp = images.upload(image_id, b"\0" * (LIMITS["image_size_cap"] + 1))
    assert resp.status_code == 413 and "image_size_cap" in resp.text
    chunked = images.upload(image_id, iter([b"\0" * MiB] * 10))
    assert chunked.status_code == 413 and "image_size_cap" in chunked.text
    assert images.show(image_id)["status"] == "queued"
    assert images.upload(image_id, b"\0" * LIMITS["image_size_cap"]).status_code == 204


def test_image_stored_total(cloud):
    images = Images(cloud, "storedtotal")
    first, second = images.create()["id"], images.create()["id"]
    assert images.upload(first, b"\0" * (9 * MiB)).status_code == 204
    resp = images.upload(second, b"\0" * (3 * MiB + 1))
    assert resp.status_code == 413 and "image_stored_total" in resp.text
    chunked = images.upload(second, iter([b"\0" * (MiB // 2)] * 7))
    assert chunked.status_code == 413 and "image_stored_total" in chunked.text
    assert images.show(second)["status"] == "queued"
    assert images.upload(second, b"\0" * (3 * MiB)).status_code == 204
