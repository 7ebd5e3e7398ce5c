"""Scenario 5: images a compute cannot use end the build in ERROR with a
fault saying why, with no domain, no instance folder, no cached debris and
no claim left behind (on either host: the build is rescheduled once).

The image service refuses such data at upload (format inspection:
tests/functional/security/test_images.py), so the bad data is planted in
its ``[image] data_dir`` after a good upload, with a record to match, as an
image stored before uploads were inspected would be: the compute's own check
(inspector + qemu-img) must refuse it before any guest opens it. The
"checksum mismatch" image is altered without fixing its record: the image
service refuses to serve it (409, corrupt data), and the compute's own
sha256 check would catch it otherwise.
"""

import hashlib
import os

import pytest

from tests.fixtures import crafted_images
from vmctl.db import models

BAD = {
    # name: (expected words in the fault)
    "garbage-qcow2": "not the declared qcow2",
    "qcow2-data-file": "external data file",
    "checksum-mismatch": "corrupt",
    "iso-format": "unsupported disk_format iso",
}


def _tamper(path):
    """Change bytes in the middle of a stored image, keeping its size."""
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        chunk = f.read(64)
        f.seek(-len(chunk), os.SEEK_CUR)
        f.write(bytes(b ^ 0xFF for b in chunk))


def _plant(cloud, image, data):
    """Replace an image's stored data and make its record match."""
    with open(os.path.join(cloud.image_data_dir, image["id"]), "wb") as f:
        f.write(data)
    with cloud.db().transaction() as session:
        row = session.get(models.Image, image["id"])
        row.size = len(data)
        row.checksum = hashlib.md5(data, usedforsecurity=False).hexdigest()
        row.os_hash_value = hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def bad_images(kvm_env, guest, tmp_path_factory):
    cloud = kvm_env.cloud
    props = {"kernel_id": kvm_env.images["kernel"]["id"],
             "ramdisk_id": kvm_env.images["ramdisk"]["id"],
             "os_command_line": kvm_env.images["disk"]["os_command_line"]}
    images = {}
    images["garbage-qcow2"] = cloud.upload_image(
        "kvm-garbage", guest["disk.qcow2"], "qcow2", **props)
    _plant(cloud, images["garbage-qcow2"], b"this is not a disk image\n" * 40000)
    images["qcow2-data-file"] = cloud.upload_image(
        "kvm-data-file", guest["disk.qcow2"], "qcow2", **props)
    crafted = crafted_images.make("qcow2-data-file", tmp_path_factory.mktemp("crafted"))
    _plant(cloud, images["qcow2-data-file"], open(crafted, "rb").read())
    images["checksum-mismatch"] = cloud.upload_image(
        "kvm-tampered", guest["disk.qcow2"], "qcow2", **props)
    _tamper(os.path.join(cloud.image_data_dir, images["checksum-mismatch"]["id"]))
    iso = crafted_images.make("iso", tmp_path_factory.mktemp("crafted"))
    images["iso-format"] = cloud.upload_image("kvm-iso", iso, "iso", **props)
    return images


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_image_fails_the_build_cleanly(kvm_env, bad_images, kind):
    env = kvm_env
    image = bad_images[kind]
    server = env.boot("kvm-bad-%s" % kind, image=image["id"], wait=False)
    server = env.api.wait_for_status(server["id"], "ERROR", timeout=120)

    # Tried on both hosts ([scheduler] max_attempts = 2 in this cloud), each
    # spawn failing for the image's fault; the last one is the server's fault.
    fault = server.get("fault") or {}
    assert BAD[kind] in fault.get("message", ""), fault
    assert image["id"] in fault["message"], fault
    (create,) = env.api.actions(server["id"])
    spawns = [e for e in create["events"] if e["event"] == "compute_build_and_run_instance"]
    assert sorted(e["host"] for e in spawns) == ["h1", "h2"], spawns
    for event in spawns:
        assert event["result"] == "Error" and BAD[kind] in event["details"], event
    assert server["OS-EXT-SRV-ATTR:host"] is None, server
    for host in env.lab.names():
        assert env.lab.domain_state(host, server["id"]) is None, host
        assert not os.path.exists(env.cloud.instance_dir(host, server["id"])), host
        debris = [n for n in os.listdir(env.cloud.image_cache_path(host))
                  if n.startswith(image["id"])]
        assert debris == [], (host, debris)
    env.cloud.wait_settled()
    env.cloud.check_invariants()      # invariant 3: no claim left

    env.delete([server["id"]])
