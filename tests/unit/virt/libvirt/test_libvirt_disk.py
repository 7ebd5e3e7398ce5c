"""qemu-img helpers, against the real qemu-img when it is installed."""

import shutil
import subprocess

import pytest

from vmctl.virt.libvirt import disk

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None,
                                    reason="qemu-img is not installed")
MiB = 1024 * 1024


def test_root_disk_size():
    assert disk.root_disk_size(0, 5 * MiB) == 5 * MiB
    assert disk.root_disk_size(2, 5 * MiB) == 2 * disk.GiB
    with pytest.raises(disk.DiskError, match="smaller than the image"):
        disk.root_disk_size(1, 2 * disk.GiB)


def test_paths_hidden_from_messages():
    message = disk._hide_paths("Could not open '/var/lib/x/_base/img': No such file",
                               ["info", "/var/lib/x/_base/img"])
    assert message == "Could not open 'img': No such file"


def _qcow2(path, size="16M", backing=None):
    args = ["qemu-img", "create", "-q", "-f", "qcow2"]
    if backing:
        args += ["-F", "raw", "-b", str(backing)]
    subprocess.run(args + [str(path), size], check=True)
    return str(path)


@needs_qemu_img
def test_check_good_images(tmp_path):
    raw = tmp_path / "raw"
    raw.write_bytes(b"\0" * MiB)
    assert disk.check_base_image(str(raw), "raw")["format"] == "raw"
    assert disk.check_base_image(_qcow2(tmp_path / "q"), "qcow2")["virtual-size"] == 16 * MiB


@needs_qemu_img
def test_garbage_claiming_qcow2_is_refused(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is not an image" * 100)
    with pytest.raises(disk.DiskError, match="contents are raw, not the declared qcow2"):
        disk.check_base_image(str(junk), "qcow2")


@needs_qemu_img
def test_truncated_qcow2_is_refused(tmp_path):
    good = _qcow2(tmp_path / "q")
    data = open(good, "rb").read()
    broken = tmp_path / "broken"
    broken.write_bytes(data[:100])
    with pytest.raises(disk.DiskError):
        disk.check_base_image(str(broken), "qcow2")


@needs_qemu_img
def test_qcow2_claiming_raw_is_refused(tmp_path):
    with pytest.raises(disk.DiskError, match="contents are qcow2, not the declared raw"):
        disk.check_base_image(_qcow2(tmp_path / "q"), "raw")


@needs_qemu_img
def test_base_with_backing_file_is_refused(tmp_path):
    raw = tmp_path / "secret"
    raw.write_bytes(b"\0" * MiB)
    sneaky = _qcow2(tmp_path / "sneaky", "1M", backing=raw)
    with pytest.raises(disk.DiskError, match="backing file"):
        disk.check_base_image(sneaky, "qcow2")


@needs_qemu_img
def test_overlay(tmp_path):
    base = _qcow2(tmp_path / "base", "16M")
    overlay = str(tmp_path / "disk")
    disk.create_overlay(base, "qcow2", overlay, 64 * MiB)
    info = disk.info(overlay)
    assert info["virtual-size"] == 64 * MiB
    assert disk.backing_file(overlay) == base
    disk.create_overlay(base, "qcow2", str(tmp_path / "disk2"))
    assert disk.info(str(tmp_path / "disk2"))["virtual-size"] == 16 * MiB


@needs_qemu_img
def test_unreadable_image_message(tmp_path):
    with pytest.raises(disk.DiskError) as err:
        disk.info(str(tmp_path / "missing"))
    assert str(tmp_path) not in str(err.value)
