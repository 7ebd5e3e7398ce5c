"""What a disk image really is, read from its bytes, and whether it is safe.

An image's ``disk_format`` is the uploader's claim; qemu believes the bytes.
A qcow2 header can name a backing file or an external data file anywhere on
the host (the class of CVE-2024-32498), and a "raw" image whose first bytes
are a qcow2 or VMDK header is probed as one. So the image service (at
upload) and the compute (before qemu-img or a guest ever opens the file)
detect the real format here, refuse any backing file, external data file
or unsafe feature, and require the format to match the declared one.

Only headers are read, at fixed offsets (at most a few hundred KiB of any
file); nothing is executed and nothing but the given file is opened.
Standard library only: compute agents import it (tests/unit/test_agent_no_db.py).
"""

import collections
import re
import struct
import uuid

SECTOR = 512
# qemu probes with the first 2 KiB: a text VMDK descriptor is found there.
PROBE_BYTES = 2048
MAX_DESCRIPTOR = 64 * 1024

Detected = collections.namedtuple("Detected", "format virtual_size")

# Declared disk_format -> the detected formats it accepts. Raw-like formats
# (kernels, ramdisks, whole disks with a partition table) are "raw" to qemu.
RAW_FAMILY = ("raw", "gpt", "mbr")
ACCEPTS = {
    "raw": RAW_FAMILY, "aki": RAW_FAMILY, "ari": RAW_FAMILY, "ami": RAW_FAMILY,
    "qcow2": ("qcow2",), "iso": ("iso",), "vmdk": ("vmdk",), "vhd": ("vhd",),
    "vhdx": ("vhdx",),
}

# Formats qemu would probe that vmctl never accepts: detected so that a "raw"
# image carrying their magic is refused. (offset, magic, name)
OTHER_MAGICS = (
    (0, b"LUKS\xba\xbe", "luks"),
    (0, b"QED\x00", "qed"),
    (0x40, b"\x7f\x10\xda\xbe", "vdi"),
    (0, b"WithoutFreeSpace", "parallels"),
    (0, b"WithouFreSpacExt", "parallels"),
    (0, b"Bochs Virtual HD Image", "bochs"),
    (0, b"#!/bin/sh\n#V2.0 Format\nmodprobe cloop", "cloop"),
)

QCOW2_MAGIC = b"QFI\xfb"
QCOW2_INCOMPAT_CORRUPT = 1 << 1
QCOW2_INCOMPAT_DATA_FILE = 1 << 2
QCOW2_INCOMPAT_KNOWN = 0x1f  # dirty, corrupt, data file, compression, extended L2
QCOW2_EXT_END = 0
QCOW2_EXT_BACKING_FORMAT = 0xe2792aca
QCOW2_EXT_DATA_FILE = 0x44415441

VMDK_MAGIC = b"KDMV"
VMDK_GD_AT_END = 0xffffffffffffffff
# As Glance's vmdk_allowed_types: one file holding descriptor and data.
VMDK_ALLOWED_TYPES = ("monolithicSparse", "streamOptimized")
_VMDK_EXTENT = re.compile(r'^(RW|RDONLY|NOACCESS)\s+\d+\s+(\S+)(?:\s+"([^"]*)")?')
_VMDK_VERSION_LINES = tuple(b"version=%d%s" % (n, end) for n in (1, 2, 3)
                            for end in (b"\n", b"\r\n"))

VHD_MAGIC = b"conectix"
VHD_DIFFERENCING = 4

VHDX_MAGIC = b"vhdxfile"
VHDX_REGION_TABLE = 0x30000
VHDX_METADATA_REGION = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e").bytes_le
VHDX_FILE_PARAMETERS = uuid.UUID("caa16737-fa36-4d43-b3b6-33f0aa44e76b").bytes_le
VHDX_DISK_SIZE = uuid.UUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8").bytes_le
VHDX_PARENT_LOCATOR = uuid.UUID("a8d35f2d-b30b-454d-abf7-d3d84834ab0c").bytes_le
VHDX_HAS_PARENT = 1 << 1

ISO_OFFSETS = (0x8001, 0x8801, 0x9001)
ISO_MAGIC = b"CD001"


class FormatError(Exception):
    """The image is refused; the message is safe to show users."""


class FormatMismatch(FormatError):
    pass


class UnsafeImage(FormatError):
    pass


class _Reader:
    """Reads at offsets of a seekable binary file; short reads past its end."""

    def __init__(self, f):
        self._f = f

    def at(self, offset, length):
        self._f.seek(offset)
        return self._f.read(length)

    def unpack(self, fmt, offset):
        size = struct.calcsize(fmt)
        data = self.at(offset, size)
        if len(data) != size:
            raise UnsafeImage("image header is truncated")
        return struct.unpack(fmt, data)


# --- detection -------------------------------------------------------------

def detect(f):
    """Detected(format, virtual_size) of the open binary file ``f``.

    Raises UnsafeImage when the file is of a format with something unsafe
    (backing file, external data file, unknown incompatible feature, VMDK
    extents in other files, a differencing VHD/VHDX).
    """
    reader = _Reader(f)
    head = reader.at(0, PROBE_BYTES)
    if head.startswith(QCOW2_MAGIC):
        return _qcow2(reader)
    if head.startswith(VMDK_MAGIC) or _is_vmdk_text(head):
        return _vmdk(reader, head)
    if head.startswith(VHDX_MAGIC):
        return _vhdx(reader)
    if head.startswith(VHD_MAGIC):
        return _vhd(reader)
    for offset, magic, name in OTHER_MAGICS:
        if head[offset:offset + len(magic)] == magic:
            return Detected(name, None)
    if any(reader.at(offset, len(ISO_MAGIC)) == ISO_MAGIC for offset in ISO_OFFSETS):
        return _iso(reader)
    return Detected(_raw_kind(head), None)


def inspect_file(path):
    with open(path, "rb") as f:
        return detect(f)


def check_file(path, disk_format):
    """Detected of ``path``; FormatError unless it is a safe ``disk_format``."""
    accepted = ACCEPTS.get(disk_format or "raw")
    if accepted is None:
        raise FormatMismatch("image disk format %s cannot be inspected and is not "
                             "accepted" % disk_format)
    detected = inspect_file(path)
    if detected.format not in accepted:
        raise FormatMismatch("image contents are %s, not the declared %s"
                             % (detected.format, disk_format or "raw"))
    return detected


# --- qcow2 ----------------------------------------------------------------

def _qcow2(reader):
    (version, backing_offset, _backing_size, cluster_bits,
     size) = reader.unpack(">IQIIQ", 4)
    if version not in (2, 3):
        raise UnsafeImage("qcow2 version %d is not supported" % version)
    if backing_offset:
        raise UnsafeImage("qcow2 image has a backing file, which is not allowed")
    if not 9 <= cluster_bits <= 21:
        raise UnsafeImage("qcow2 image has an invalid cluster size")
    ext_start = 72
    if version == 3:
        (incompatible,) = reader.unpack(">Q", 72)
        (header_length,) = reader.unpack(">I", 100)
        if incompatible & QCOW2_INCOMPAT_DATA_FILE:
            raise UnsafeImage("qcow2 image has an external data file, which is not "
                              "allowed")
        if incompatible & QCOW2_INCOMPAT_CORRUPT:
            raise UnsafeImage("qcow2 image is marked corrupt")
        if incompatible & ~QCOW2_INCOMPAT_KNOWN:
            raise UnsafeImage("qcow2 image has unknown incompatible features (0x%x)"
                              % (incompatible & ~QCOW2_INCOMPAT_KNOWN))
        ext_start = header_length
    _qcow2_extensions(reader, ext_start, 1 << cluster_bits)
    return Detected("qcow2", size)


def _qcow2_extensions(reader, offset, cluster_size):
    """Refuse a data-file or backing-format extension in the first cluster."""
    while offset + 8 <= cluster_size:
        ext_type, length = reader.unpack(">II", offset)
        if ext_type == QCOW2_EXT_END:
            return
        if ext_type == QCOW2_EXT_DATA_FILE:
            raise UnsafeImage("qcow2 image names an external data file, which is "
                              "not allowed")
        if ext_type == QCOW2_EXT_BACKING_FORMAT:
            raise UnsafeImage("qcow2 image names a backing file format, which is "
                              "not allowed")
        offset += 8 + (length + 7) // 8 * 8
    raise UnsafeImage("qcow2 header extensions run past the first cluster")


# --- vmdk -----------------------------------------------------------------

def _is_vmdk_text(head):
    """qemu's rule: the first line that is not a comment is ``version=N``."""
    for line in head.splitlines(keepends=True):
        stripped = line.lstrip(b" ")
        if stripped.startswith(b"#") or not stripped.strip():
            continue
        return stripped.startswith(_VMDK_VERSION_LINES)
    return False


def _vmdk(reader, head):
    if not head.startswith(VMDK_MAGIC):
        # A descriptor-only VMDK: its data is always in other files.
        text = head.decode("ascii", "replace")
        _vmdk_descriptor(text)
        raise UnsafeImage("VMDK descriptor without data refers to other files")
    (capacity, _grain, desc_offset, desc_size) = reader.unpack("<QQQQ", 12)
    (gd_offset,) = reader.unpack("<Q", 56)
    if gd_offset == VMDK_GD_AT_END:
        raise UnsafeImage("VMDK image with a footer is not supported")
    if not desc_offset or not desc_size:
        raise UnsafeImage("VMDK image has no embedded descriptor")
    length = min(desc_size * SECTOR, MAX_DESCRIPTOR)
    text = reader.at(desc_offset * SECTOR, length).decode("ascii", "replace")
    _vmdk_descriptor(text)
    return Detected("vmdk", capacity * SECTOR)


def _vmdk_descriptor(text):
    text = text.split("\x00", 1)[0]
    create_type = re.search(r'^createType\s*=\s*"([^"]*)"', text, re.M)
    if not create_type or create_type.group(1) not in VMDK_ALLOWED_TYPES:
        raise UnsafeImage("VMDK createType %s is not allowed (only %s)"
                          % (create_type.group(1) if create_type else "(none)",
                             ", ".join(VMDK_ALLOWED_TYPES)))
    if re.search(r"^parentFileNameHint\s*=", text, re.M):
        raise UnsafeImage("VMDK image has a parent (backing) file, which is not allowed")
    for line in text.splitlines():
        extent = _VMDK_EXTENT.match(line.strip())
        if not extent:
            continue
        kind, name = extent.group(2), extent.group(3) or ""
        if kind != "SPARSE" or "/" in name or "\\" in name:
            raise UnsafeImage("VMDK extent %s %r refers to another file, which is "
                              "not allowed" % (kind, name))


# --- vhd / vhdx -------------------------------------------------------------

def _vhd(reader):
    (current_size,) = reader.unpack(">Q", 48)
    (disk_type,) = reader.unpack(">I", 60)
    if disk_type == VHD_DIFFERENCING:
        raise UnsafeImage("VHD image is a differencing disk (has a parent), which is "
                          "not allowed")
    return Detected("vhd", current_size)


def _vhdx(reader):
    metadata = _vhdx_region(reader, VHDX_METADATA_REGION)
    if metadata is None:
        raise UnsafeImage("VHDX image has no metadata region")
    signature = reader.at(metadata, 8)
    (count,) = reader.unpack("<H", metadata + 10)
    if signature != b"metadata" or count > 2047:
        raise UnsafeImage("VHDX metadata table is invalid")
    items = {}
    for index in range(count):
        entry = reader.at(metadata + 32 + index * 32, 32)
        if len(entry) != 32:
            raise UnsafeImage("VHDX metadata table is truncated")
        offset, length = struct.unpack("<II", entry[16:24])
        items[entry[:16]] = (metadata + offset, length)
    if VHDX_PARENT_LOCATOR in items:
        raise UnsafeImage("VHDX image has a parent (backing) file, which is not allowed")
    if VHDX_FILE_PARAMETERS in items:
        (flags,) = reader.unpack("<I", items[VHDX_FILE_PARAMETERS][0] + 4)
        if flags & VHDX_HAS_PARENT:
            raise UnsafeImage("VHDX image has a parent (backing) file, which is not "
                              "allowed")
    size = None
    if VHDX_DISK_SIZE in items:
        (size,) = reader.unpack("<Q", items[VHDX_DISK_SIZE][0])
    return Detected("vhdx", size)


def _vhdx_region(reader, guid):
    """File offset of the region ``guid`` from the (first) region table."""
    if reader.at(VHDX_REGION_TABLE, 4) != b"regi":
        raise UnsafeImage("VHDX region table is missing")
    (count,) = reader.unpack("<I", VHDX_REGION_TABLE + 8)
    for index in range(min(count, 2047)):
        entry = reader.at(VHDX_REGION_TABLE + 16 + index * 32, 32)
        if len(entry) == 32 and entry[:16] == guid:
            return struct.unpack("<Q", entry[16:24])[0]
    return None


# --- iso and raw ------------------------------------------------------------

def _iso(reader):
    """An ISO 9660 image: its size from the primary volume descriptor."""
    blocks = reader.at(0x8000 + 80, 4)
    block_size = reader.at(0x8000 + 128, 2)
    size = None
    if len(blocks) == 4 and len(block_size) == 2:
        size = struct.unpack("<I", blocks)[0] * struct.unpack("<H", block_size)[0]
    return Detected("iso", size)


def _raw_kind(head):
    """'gpt' or 'mbr' for a sane partition table, else 'raw': all raw to qemu."""
    if head[512:520] == b"EFI PART" and _mbr_is_sane(head):
        return "gpt"
    if _mbr_is_sane(head):
        return "mbr"
    return "raw"


def _mbr_is_sane(head):
    if len(head) < 512 or head[510:512] != b"\x55\xaa":
        return False
    entries = [head[446 + 16 * n:462 + 16 * n] for n in range(4)]
    return (all(entry[0] in (0x00, 0x80) for entry in entries)
            and any(entry[4] for entry in entries))
