"""The base image cache: download once, verify, refcount by instance, clean up."""

import json
import os
import threading
import time

import pytest

from vmctl.virt.libvirt import imagecache


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Downloads:
    def __init__(self, content=b"IMAGE", fail=None, delay=0):
        self.calls = []
        self.content = content
        self.fail = fail
        self.delay = delay

    def __call__(self, image_id, dest):
        self.calls.append(image_id)
        time.sleep(self.delay)
        with open(dest, "wb") as f:
            f.write(self.content)
        if self.fail:
            raise self.fail


@pytest.fixture
def cache(tmp_path):
    clock = Clock()
    backing = {}
    c = imagecache.ImageCache(str(tmp_path / "_base"), str(tmp_path / "instances"), 600,
                              backing_file=lambda p: backing.get(p), clock=clock)
    c.clock, c.backing = clock, backing
    os.makedirs(c.instances_dir)
    return c


def _instance(cache, name, images=None):
    folder = os.path.join(cache.instances_dir, name)
    os.makedirs(folder)
    if images is not None:
        imagecache.write_instance_refs(folder, images)
    return folder


def test_fetch_downloads_once(cache):
    download = Downloads()
    first = cache.fetch("img1", "qcow2", download)
    second = cache.fetch("img1", "qcow2", download)
    assert first == second == os.path.join(cache.base_dir, "img1")
    assert download.calls == ["img1"]
    assert open(first, "rb").read() == b"IMAGE"
    assert cache.read_info("img1") == {"disk_format": "qcow2", "last_used": 1000.0}


def test_concurrent_fetches_download_once(cache):
    download = Downloads(delay=0.1)
    threads = [threading.Thread(target=cache.fetch, args=("img1", "raw", download))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert download.calls == ["img1"]


def test_failed_verify_leaves_nothing(cache):
    def verify(path):
        assert os.path.exists(path)
        raise ValueError("corrupt")
    with pytest.raises(ValueError):
        cache.fetch("img1", "qcow2", Downloads(), verify)
    assert cache.cached_images() == []
    assert sorted(os.listdir(cache.base_dir)) == ["locks"]


def test_failed_download_leaves_nothing(cache):
    with pytest.raises(IOError):
        cache.fetch("img1", "raw", Downloads(fail=IOError("checksum mismatch")))
    assert cache.cached_images() == []


def test_format_change_refetches(cache):
    download = Downloads()
    cache.fetch("img1", "raw", download)
    cache.fetch("img1", "qcow2", download)
    assert download.calls == ["img1", "img1"]


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", ".hidden", "locks", "x" * 300])
def test_invalid_ids_refused(cache, bad):
    with pytest.raises(imagecache.CacheError):
        cache.path(bad)


def test_cleanup_keeps_referenced_and_recent(cache):
    for image_id in ("used", "kernel", "recent", "old"):
        cache.fetch(image_id, "raw", Downloads())
    _instance(cache, "inst1", ["used", "kernel"])
    cache.clock.now += 500
    cache.fetch("recent", "raw", Downloads())
    cache.clock.now += 200
    assert cache.cleanup() == ["old"]
    assert cache.cached_images() == ["kernel", "recent", "used"]
    # referenced images count as used now
    assert cache.read_info("used")["last_used"] == cache.clock.now


def test_cleanup_after_instance_gone(cache):
    cache.fetch("img1", "raw", Downloads())
    folder = _instance(cache, "inst1", ["img1"])
    cache.clock.now += 10_000
    assert cache.cleanup() == []
    os.remove(os.path.join(folder, imagecache.INSTANCE_REFS))
    os.rmdir(folder)
    cache.clock.now += 599
    assert cache.cleanup() == []
    cache.clock.now += 2
    assert cache.cleanup() == ["img1"]
    assert not os.path.exists(cache.path("img1"))
    assert not os.path.exists(cache.path("img1") + ".info")


def test_reference_by_backing_file_without_record(cache):
    path = cache.fetch("img1", "qcow2", Downloads())
    folder = _instance(cache, "inst1")
    disk = os.path.join(folder, "disk")
    open(disk, "w").close()
    cache.backing[disk] = path
    cache.clock.now += 10_000
    assert cache.cleanup() == []
    assert cache.referenced_images() == {"img1"}


def test_cleanup_removes_interrupted_downloads(cache):
    os.makedirs(cache.base_dir)
    for name in ("img9.download", "img8.download.part", "img7.info.tmp"):
        with open(os.path.join(cache.base_dir, name), "w") as f:
            f.write("partial")
    assert cache.cached_images() == ["img7", "img8", "img9"]
    assert cache.cleanup() == ["img7", "img8", "img9"]
    assert os.listdir(cache.base_dir) == ["locks"]


def test_cleanup_waits_for_a_running_download(cache):
    started, release = threading.Event(), threading.Event()

    def slow(image_id, dest):
        with open(dest + ".part", "w") as f:
            f.write("x")
        started.set()
        release.wait(10)
        os.rename(dest + ".part", dest)
    fetch = threading.Thread(target=cache.fetch, args=("img1", "raw", slow))
    fetch.start()
    started.wait(10)
    cleaner = threading.Thread(target=cache.cleanup)
    cleaner.start()
    time.sleep(0.2)
    assert cleaner.is_alive()          # blocked on the image's lock
    release.set()
    fetch.join(10)
    cleaner.join(10)
    assert cache.cached_images() == ["img1"]   # used just now: kept


def test_zero_unused_seconds_still_respects_references(cache):
    cache.unused_seconds = 0
    cache.fetch("img1", "raw", Downloads())
    _instance(cache, "inst1", ["img1"])
    assert cache.cleanup() == []


def test_instance_refs_round_trip(tmp_path):
    imagecache.write_instance_refs(str(tmp_path), ["b", "a", "b"])
    assert json.load(open(tmp_path / imagecache.INSTANCE_REFS)) == {"images": ["a", "b"]}
    assert imagecache.read_instance_refs(str(tmp_path)) == {"a", "b"}
    assert imagecache.read_instance_refs(str(tmp_path / "none")) is None
