"""The format inspector against crafted images made with the real qemu-img.

Not skipped when qemu-img is missing: tools/setup-test-env.sh installs it
(QEMU 10), and an image check that silently does not run proves nothing.
"""

import io
import re
import struct

import pytest

from tests.fixtures import crafted_images
from vmctl.image_client import format_inspector as fi


@pytest.mark.parametrize("name", sorted(crafted_images.REFUSED))
def test_crafted_image_is_refused(tmp_path, name):
    declared, says = crafted_images.REFUSED[name]
    path = crafted_images.make(name, tmp_path)
    with pytest.raises(fi.FormatError, match=re.escape(says)):
        fi.check_file(path, declared)


@pytest.mark.parametrize("name", sorted(crafted_images.ACCEPTED)
                         + sorted(crafted_images.INSPECTED_ONLY))
def test_good_image_is_accepted(tmp_path, name):
    declared, detected = {**crafted_images.ACCEPTED, **crafted_images.INSPECTED_ONLY}[name]
    path = crafted_images.make(name, tmp_path)
    assert fi.check_file(path, declared).format == detected


def test_virtual_sizes(tmp_path):
    crafted_images.qemu_img("create", "-q", "-f", "qcow2", str(tmp_path / "q"), "3M")
    assert fi.inspect_file(str(tmp_path / "q")) == fi.Detected("qcow2", 3 * 1024 * 1024)
    path = crafted_images.make("vmdk-sparse", tmp_path)
    assert fi.inspect_file(path).virtual_size == 1024 * 1024


def test_every_declared_format_has_a_rule():
    from vmctl.api.schemas import images as schema

    assert set(schema.DISK_FORMATS) <= set(fi.ACCEPTS)


def test_uninspectable_format_is_refused(tmp_path):
    path = crafted_images.make("raw", tmp_path)
    with pytest.raises(fi.FormatMismatch, match="cannot be inspected"):
        fi.check_file(path, "ploop")


def test_no_disk_format_means_raw(tmp_path):
    assert fi.check_file(crafted_images.make("raw", tmp_path), None).format == "raw"
    with pytest.raises(fi.FormatMismatch, match="not the declared raw"):
        fi.check_file(crafted_images.make("qcow2", tmp_path), None)


# --- hand-built headers: what qemu-img will not write -------------------------

def _qcow2_header(version=3, backing_offset=0, cluster_bits=16, incompatible=0,
                  extensions=b""):
    header = struct.pack(">4sIQIIQIIQQIIQ", fi.QCOW2_MAGIC, version, backing_offset, 0,
                         cluster_bits, 1 << 20, 0, 0, 0, 0, 0, 0, 0)
    if version == 3:
        header += struct.pack(">QQQII", incompatible, 0, 0, 4, 104)
    return header + extensions + b"\0" * 8


def test_qcow2_header_rules():
    assert fi.detect(io.BytesIO(_qcow2_header())).format == "qcow2"
    assert fi.detect(io.BytesIO(_qcow2_header(version=2))).format == "qcow2"
    cases = [
        (_qcow2_header(backing_offset=512), "backing file"),
        (_qcow2_header(incompatible=fi.QCOW2_INCOMPAT_DATA_FILE), "external data file"),
        (_qcow2_header(incompatible=fi.QCOW2_INCOMPAT_CORRUPT), "marked corrupt"),
        (_qcow2_header(incompatible=1 << 5), "unknown incompatible"),
        (_qcow2_header(version=4), "version 4"),
        (_qcow2_header(cluster_bits=40), "cluster size"),
        (_qcow2_header(extensions=struct.pack(">II", fi.QCOW2_EXT_BACKING_FORMAT, 3)
                       + b"raw\0\0\0\0\0"), "backing file format"),
        (_qcow2_header(extensions=struct.pack(">II", 0x12345678, 1 << 20)),
         "past the first cluster"),
        (fi.QCOW2_MAGIC + b"\0\0\0\x03", "truncated"),
    ]
    for data, says in cases:
        with pytest.raises(fi.UnsafeImage, match=says):
            fi.detect(io.BytesIO(data))


def test_vmdk_text_descriptor_is_found_as_qemu_probes_it():
    """qemu probes a file whose first non-comment line is ``version=N`` as a
    VMDK descriptor, whatever it is named: so must the inspector."""
    text = b'# comment\nversion=1\ncreateType="vmfs"\nRW 100 VMFS "/dev/sda"\n'
    with pytest.raises(fi.UnsafeImage, match="createType vmfs"):
        fi.detect(io.BytesIO(text))
    sneaky = b'version=1\ncreateType="monolithicSparse"\nRW 100 SPARSE "disk"\n'
    with pytest.raises(fi.UnsafeImage, match="descriptor without data"):
        fi.detect(io.BytesIO(sneaky))
    assert fi.detect(io.BytesIO(b"hello\nversion=1\n")).format == "raw"


def test_vmdk_descriptor_rules():
    good = 'createType="streamOptimized"\nRW 2048 SPARSE "disk.vmdk"\n'
    fi._vmdk_descriptor(good)
    for text, says in [
        (good + 'parentFileNameHint="/var/lib/base.vmdk"\n', "parent"),
        ('createType="monolithicSparse"\nRW 2048 FLAT "disk-flat.vmdk" 0\n',
         "refers to another file"),
        ('createType="monolithicSparse"\nRW 2048 SPARSE "../other"\n', "refers to"),
        ('createType="monolithicSparse"\nRW 2048 SPARSE "a\\\\b"\n', "refers to"),
        ("nothing here", "createType \\(none\\)"),
    ]:
        with pytest.raises(fi.UnsafeImage, match=says):
            fi._vmdk_descriptor(text)


def test_vmdk_footer_is_refused(tmp_path):
    path = crafted_images.make("vmdk-sparse", tmp_path)
    with open(path, "r+b") as f:
        f.seek(56)
        f.write(struct.pack("<Q", fi.VMDK_GD_AT_END))
    with pytest.raises(fi.UnsafeImage, match="footer"):
        fi.inspect_file(path)


def test_other_qemu_formats_are_named():
    assert fi.detect(io.BytesIO(b"LUKS\xba\xbe" + b"\0" * 600)).format == "luks"
    vdi = bytearray(1024)
    vdi[0x40:0x44] = b"\x7f\x10\xda\xbe"
    assert fi.detect(io.BytesIO(bytes(vdi))).format == "vdi"
    assert fi.detect(io.BytesIO(b"")).format == "raw"
