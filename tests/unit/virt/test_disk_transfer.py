"""disk_transfer.pull: verified, resumed, retried, or refused."""

import pytest

from vmctl.virt import disk_transfer
from vmctl.virt import fake_cold_migration

DATA = bytes(range(256)) * 256


class Source(disk_transfer.SourceFiles):
    def __init__(self, spoil=()):
        self.spoil = list(spoil)
        self.offsets = []

    def read(self, name, offset, token):
        if token != "t":
            raise disk_transfer.TransferError("bad token")
        self.offsets.append(offset)
        kind = self.spoil.pop(0) if self.spoil else None
        data = bytearray(DATA[offset:])
        if kind == "corrupt":
            data[-1] ^= 1
        half = len(data) // 2
        yield bytes(data[:half])
        if kind == "break":
            raise disk_transfer.BrokenStream("cut")
        yield bytes(data[half:])


def _manifest():
    return disk_transfer.manifest("m", "src", [disk_transfer.file_entry("disk", DATA)],
                                  token="t")


def _pull(source, attempts=3):
    target = fake_cold_migration._MemoryTarget()
    sums = disk_transfer.pull(_manifest(), source, target, attempts, 0, sleep=lambda s: None)
    return sums, bytes(target.files["disk"])


def test_a_clean_copy():
    sums, data = _pull(Source())
    assert data == DATA and sums["disk"] == _manifest()["files"][0]["sha256"]


def test_a_broken_stream_is_resumed_from_what_was_written():
    source = Source(["break"])
    _sums, data = _pull(source)
    assert data == DATA
    assert source.offsets == [0, len(DATA) // 2]


def test_a_checksum_mismatch_starts_over():
    source = Source(["corrupt"])
    _sums, data = _pull(source)
    assert data == DATA and source.offsets == [0, 0]


def test_gives_up_after_the_attempts():
    with pytest.raises(disk_transfer.TransferError, match="after 2 attempts"):
        _pull(Source(["corrupt"] * 5), attempts=2)


def test_a_wrong_token_is_refused():
    manifest = _manifest()
    manifest["token"] = "nope"
    with pytest.raises(disk_transfer.TransferError, match="bad token"):
        disk_transfer.pull(manifest, Source(), fake_cold_migration._MemoryTarget())
