"""The compute's base-image check refuses crafted images before use: the
header is inspected before qemu-img opens the file, and qemu-img's own view
(backing file, data file) is checked as a second line."""

import re

import pytest

from tests.fixtures import crafted_images
from vmctl.image_client import format_inspector
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import imagecache


@pytest.mark.parametrize("name", sorted(n for n, (fmt, _) in crafted_images.REFUSED.items()
                                        if fmt in ("raw", "qcow2")))
def test_crafted_base_image_is_refused(tmp_path, name):
    declared, says = crafted_images.REFUSED[name]
    path = crafted_images.make(name, tmp_path)
    with pytest.raises(disk.DiskError, match=re.escape(says)):
        disk.check_base_image(path, declared)


def test_qemu_img_data_file_is_refused_too(tmp_path, monkeypatch):
    """Were the inspector to miss it, qemu-img's data-file is still refused."""
    monkeypatch.setattr(format_inspector, "check_file", lambda path, fmt: None)
    path = crafted_images.make("qcow2-data-file", tmp_path)
    with pytest.raises(disk.DiskError, match="external data file"):
        disk.check_base_image(path, "qcow2")


def test_refused_image_leaves_nothing_in_the_cache(tmp_path):
    crafted = crafted_images.make("qcow2-data-file", tmp_path)
    cache = imagecache.ImageCache(str(tmp_path / "_base"), str(tmp_path / "instances"), 60)

    def download(image_id, dest):
        with open(crafted, "rb") as src, open(dest, "wb") as out:
            out.write(src.read())

    with pytest.raises(disk.DiskError, match="external data file"):
        cache.fetch("img", "qcow2", download,
                    lambda path: disk.check_base_image(path, "qcow2"))
    assert sorted(p.name for p in (tmp_path / "_base").iterdir()) == ["locks"]
