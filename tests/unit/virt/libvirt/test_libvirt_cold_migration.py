"""Cold migration on the libvirt driver: the transfer endpoint (real HTTPS on
localhost), ranges, manifests, and whole moves between two drivers whose
libvirt is a fake (qemu-img real when installed)."""

import hashlib
import os
import shutil
import subprocess
import types
import uuid

import pytest

from tests.fixtures.conf import make_conf
from tests.unit.virt.libvirt.test_libvirt_driver import FakeHost
from tests.unit.virt.libvirt.test_libvirt_driver import Images
from vmctl import instance_states as states
from vmctl.objects import flavor as flavor_obj
from vmctl.objects import instance as instance_obj
from vmctl.virt import disk_transfer
from vmctl.virt import driver as virt_driver
from vmctl.virt.libvirt import cold_migration
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import driver as lv_driver
from vmctl.virt.libvirt import instance_files
from vmctl.virt.libvirt import transfer

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None
                                    or shutil.which("qemu-io") is None,
                                    reason="qemu-img / qemu-io are not installed")


# --- pure parts -------------------------------------------------------------------------
@pytest.mark.parametrize("header, expected", [
    (None, None), ("", None), ("bytes=0-", (0, 99)), ("bytes=10-", (10, 99)),
    ("bytes=10-19", (10, 19)), ("bytes=90-500", (90, 99)), ("bytes=99-", (99, 99)),
])
def test_parse_range(header, expected):
    assert transfer.parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=5-2", "bytes=-5", "items=0-",
                                    "bytes=0-1,5-6"])
def test_parse_range_refuses(header):
    with pytest.raises(transfer.RangeError):
        transfer.parse_range(header, 100)


def test_file_entry_matches_disk_transfer(tmp_path):
    data = os.urandom(3 * transfer.CHUNK + 17)
    (tmp_path / "disk").write_bytes(data)
    assert transfer.file_entry("disk", str(tmp_path / "disk")) == \
        disk_transfer.file_entry("disk", data)


def test_offers_check_token_and_name():
    offers = transfer.Offers()
    mig = str(uuid.uuid4())
    offers.add(mig, "secret", {"disk": "/x/disk"})
    assert offers.lookup(mig, "disk", "Bearer secret") == (200, "/x/disk")
    assert offers.lookup(mig, "disk", "bearer secret") == (200, "/x/disk")
    assert offers.lookup(mig, "disk", "Bearer secreT") == (401, None)
    assert offers.lookup(mig, "disk", None) == (401, None)
    assert offers.lookup(mig, "console.log", "Bearer secret") == (404, None)
    assert offers.lookup(str(uuid.uuid4()), "disk", "Bearer secret") == (404, None)
    offers.remove(mig)
    assert offers.lookup(mig, "disk", "Bearer secret") == (404, None)


def test_is_shared_and_url():
    assert cold_migration.is_shared({"storage_id": "a"}, "a")
    assert not cold_migration.is_shared({"storage_id": "a"}, "b")
    assert not cold_migration.is_shared({}, None)
    assert cold_migration.transfer_url("::1", 8, "m") == "https://[::1]:8/migrations/m/"
    assert cold_migration.transfer_url("10.0.0.1", 8, "m") == \
        "https://10.0.0.1:8/migrations/m/"


def test_manifest_files_are_checked():
    assert cold_migration.checked_files({"files": [{"name": "disk"}]}) == ["disk"]
    for files in ([], [{"name": "../etc/passwd"}], [{"name": "disk"}, {"name": "x"}]):
        with pytest.raises(virt_driver.VirtError, match="unexpected files"):
            cold_migration.checked_files({"files": files})


# --- the endpoint over real HTTPS ----------------------------------------------------------
@pytest.fixture
def endpoint(tmp_path):
    offers = transfer.Offers()
    server = transfer.TransferServer("127.0.0.1", 0, offers).start()
    data = os.urandom(2 * transfer.CHUNK + 123)
    (tmp_path / "kept").mkdir()
    path = tmp_path / "kept" / "disk"
    path.write_bytes(data)
    mig = str(uuid.uuid4())
    offers.add(mig, "t" * 64, {"disk": str(path)})
    manifest = disk_transfer.manifest(
        mig, "src", [transfer.file_entry("disk", str(path))],
        url=cold_migration.transfer_url("127.0.0.1", server.port, mig), token="t" * 64)
    manifest["tls_sha256"] = server.fingerprint
    yield types.SimpleNamespace(server=server, offers=offers, data=data, manifest=manifest,
                                tmp=tmp_path, mig=mig)
    server.stop()


def _read(source, offset, token):
    return b"".join(source.read("disk", offset, token))


def test_endpoint_serves_whole_and_ranges(endpoint):
    source = transfer.HttpSource(endpoint.manifest)
    assert _read(source, 0, "t" * 64) == endpoint.data
    assert _read(source, 1000, "t" * 64) == endpoint.data[1000:]
    assert _read(source, len(endpoint.data), "t" * 64) == b""


def test_endpoint_refuses_bad_token_and_unknown(endpoint):
    source = transfer.HttpSource(endpoint.manifest)
    with pytest.raises(disk_transfer.TransferError, match="refused the transfer token"):
        _read(source, 0, "u" * 64)
    endpoint.offers.remove(endpoint.mig)
    with pytest.raises(disk_transfer.TransferError, match="no longer offers"):
        _read(source, 0, "t" * 64)


def test_client_pins_the_certificate(endpoint):
    manifest = dict(endpoint.manifest, tls_sha256=hashlib.sha256(b"other").hexdigest())
    with pytest.raises(disk_transfer.TransferError, match="TLS certificate"):
        _read(transfer.HttpSource(manifest), 0, "t" * 64)


def test_unreachable_source_is_a_broken_stream(endpoint):
    endpoint.server.stop()
    with pytest.raises(disk_transfer.BrokenStream):
        _read(transfer.HttpSource(endpoint.manifest), 0, "t" * 64)


def test_pull_resumes_into_a_folder(endpoint):
    dest = endpoint.tmp / "dest"
    dest.mkdir()
    (dest / "disk.part").write_bytes(endpoint.data[:5000])       # an earlier attempt
    target = transfer.DirTarget(str(dest))
    source = transfer.HttpSource(endpoint.manifest)
    asked = []
    real_read = source.read
    source.read = lambda name, offset, token: (asked.append(offset)
                                               or real_read(name, offset, token))
    sums = disk_transfer.pull(endpoint.manifest, source, target, attempts=1, delay=0)
    target.commit("disk")
    assert asked == [5000]
    assert (dest / "disk").read_bytes() == endpoint.data
    assert sums == {"disk": endpoint.manifest["files"][0]["sha256"]}


# --- whole moves between two drivers ---------------------------------------------------------
def _driver(tmp_path, name, images, instances_path=None):
    conf = make_conf(project="vmctl-test")
    conf.set_override("state_path", str(tmp_path / name))
    conf.set_override("virt_type", "qemu", "libvirt")
    conf.set_override("clean_shutdown_timeout", 0, "libvirt")
    conf.set_override("instances_path", instances_path or str(tmp_path / name / "instances"),
                      "libvirt")
    conf.set_override("image_cache_path", str(tmp_path / name / "_base"), "libvirt")
    conf.set_override("listen_address", "127.0.0.1", "cold_migration")
    conf.set_override("advertise_address", "127.0.0.1", "cold_migration")
    conf.set_override("transfer_retry_delay", 0, "cold_migration")
    host = FakeHost()
    drv = lv_driver.LibvirtDriver(conf, image_client=images, host=host)
    drv._files.nodename = name
    os.makedirs(conf.libvirt.instances_path, exist_ok=True)
    return types.SimpleNamespace(conf=conf, drv=drv, host=host,
                                 instances=conf.libvirt.instances_path)


@pytest.fixture
def pair(tmp_path):
    base = tmp_path / "image"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"kernel")
    images = Images({"img": ({"disk_format": "qcow2", "kernel_id": "k",
                              "os_command_line": "quiet"}, str(base)),
                     "k": ({"disk_format": "aki"}, str(kernel))})
    src, dst = _driver(tmp_path, "src", images), _driver(tmp_path, "dst", images)
    yield types.SimpleNamespace(src=src, dst=dst, images=images, tmp=tmp_path)
    for side in (src, dst):
        if side.drv.cold._endpoint is not None:
            side.drv.cold._endpoint.stop()


def _flavor(vcpus=1, memory_mb=128, root_gb=1, name="small"):
    return flavor_obj.Flavor(flavorid=name, name=name, vcpus=vcpus, memory_mb=memory_mb,
                             root_gb=root_gb, ephemeral_gb=0, swap=0, extra_specs={})


def _instance(flavor):
    return instance_obj.Instance(uuid=str(uuid.uuid4()), display_name="vm", project_id="p",
                                 user_id="u", vm_state="active", image_ref="img",
                                 metadata={}, flavor=flavor)


def _resized(inst, flavor):
    return instance_obj.Instance(uuid=inst.uuid, display_name=inst.display_name,
                                 project_id="p", user_id="u", vm_state="active",
                                 image_ref="img", metadata={}, flavor=flavor)


def _write_guest_data(side, inst):
    """What the guest wrote: 64 KiB of 0x5a at 1 MiB of its disk (qemu-io)."""
    path = os.path.join(side.instances, inst.uuid, "disk")
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 64k", path],
                   check=True, capture_output=True)


def _has_guest_data(path):
    proc = subprocess.run(["qemu-io", "-f", "qcow2", "-c", "read -P 0x5a 1M 64k", path],
                          capture_output=True, text=True)
    return proc.returncode == 0 and "Pattern verification failed" not in proc.stdout


def _move(pair, inst, new_flavor):
    migration = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    dest_info = pair.dst.drv.prepare_migration_target(_resized(inst, new_flavor), migration)
    manifest = pair.src.drv.migrate_disk_and_power_off(inst, migration, dest_info)
    return migration, manifest


@needs_qemu_img
def test_resize_moves_grows_and_reverts_exactly(pair):
    old, new = _flavor(), _flavor(vcpus=2, memory_mb=192, root_gb=2, name="large")
    inst = _instance(old)
    assert pair.src.drv.spawn(inst) == states.RUNNING
    pair.src.drv.power_off(inst)
    _write_guest_data(pair.src, inst)
    pair.src.drv.power_on(inst)
    before = pair.src.host.domains[inst.uuid].xml

    migration, manifest = _move(pair, inst, new)
    assert not manifest["shared_storage"] and manifest["url"].startswith("https://127.0.0.1:")
    assert inst.uuid not in pair.src.host.domains
    kept = os.path.join(pair.src.instances, inst.uuid + "_resize")
    assert os.stat(os.path.join(kept, "resize.json")).st_mode & 0o077 == 0
    assert pair.src.drv.held_migrations() == {inst.uuid: migration.uuid}
    # A second call (the conductor healing) offers the same copy again.
    again = pair.src.drv.migrate_disk_and_power_off(inst, migration, {})
    assert (again["token"], again["files"]) == (manifest["token"], manifest["files"])

    resized = _resized(inst, new)
    assert pair.dst.drv.finish_migration(resized, migration, manifest, True) == states.RUNNING
    dom = pair.dst.host.domains[inst.uuid].parsed
    assert (dom.memory_mb, dom.vcpus, dom.metadata.flavor_name) == (192, 2, "large")
    dst_disk = os.path.join(pair.dst.instances, inst.uuid, "disk")
    assert disk.info(dst_disk, fmt="qcow2")["virtual-size"] == 2 * disk.GiB
    assert disk.backing_file(dst_disk) == os.path.join(pair.dst.conf.libvirt.image_cache_path,
                                                       "img")
    assert _has_guest_data(dst_disk)
    # Idempotent: a re-sent finish finds its guest.
    assert pair.dst.drv.finish_migration(resized, migration, manifest, True) == states.RUNNING

    pair.dst.drv.revert_migration_at_destination(resized, migration)
    assert inst.uuid not in pair.dst.host.domains
    assert not os.path.exists(os.path.join(pair.dst.instances, inst.uuid))
    assert pair.src.drv.finish_revert_migration(inst, migration) == states.RUNNING
    assert pair.src.host.domains[inst.uuid].xml == before
    assert _has_guest_data(os.path.join(pair.src.instances, inst.uuid, "disk"))
    assert sorted(os.listdir(os.path.join(pair.src.instances, inst.uuid))) == \
        ["disk", "images.json"]
    assert pair.src.drv.held_migrations() == {}
    assert pair.src.drv.finish_revert_migration(inst, migration) == states.RUNNING
    # The offer died with the revert, and with nothing offered the endpoint stopped.
    assert pair.src.drv.cold._endpoint is None
    with pytest.raises(disk_transfer.BrokenStream):
        b"".join(transfer.HttpSource(manifest).read("disk", 0, manifest["token"]))


@needs_qemu_img
def test_confirm_drops_the_kept_copy(pair):
    inst = _instance(_flavor())
    pair.src.drv.spawn(inst)
    pair.src.drv.power_off(inst)
    migration, manifest = _move(pair, inst, _flavor())
    assert pair.dst.drv.finish_migration(inst, migration, manifest, False) == states.SHUTDOWN
    other = _instance(_flavor())
    pair.src.drv.spawn(other)
    other_migration, other_manifest = _move(pair, other, _flavor())
    pair.src.drv.confirm_migration(inst, migration)
    pair.src.drv.confirm_migration(inst, migration)
    assert sorted(os.listdir(pair.src.instances)) == [".vmctl-storage-id",
                                                      other.uuid + "_resize"]
    assert pair.src.drv.held_migrations() == {other.uuid: other_migration.uuid}
    # Its offer is gone; the other migration's is still served.
    with pytest.raises(disk_transfer.TransferError, match="no longer offers"):
        b"".join(transfer.HttpSource(manifest).read("disk", 0, manifest["token"]))
    assert b"".join(transfer.HttpSource(other_manifest).read(
        "disk", 0, other_manifest["token"]))
    pair.src.drv.confirm_migration(other, other_migration)
    assert pair.src.drv.cold._endpoint is None and pair.src.drv.held_migrations() == {}


@needs_qemu_img
def test_failed_transfer_leaves_the_source_intact(pair):
    inst = _instance(_flavor())
    pair.src.drv.spawn(inst)
    migration, manifest = _move(pair, inst, _flavor())
    bad = dict(manifest, token="0" * 64)
    with pytest.raises(virt_driver.VirtError, match="refused the transfer token"):
        pair.dst.drv.finish_migration(inst, migration, bad, True)
    pair.dst.drv.revert_migration_at_destination(inst, migration)
    assert not os.path.exists(os.path.join(pair.dst.instances, inst.uuid))
    assert pair.src.drv.finish_revert_migration(inst, migration) == states.RUNNING


@needs_qemu_img
def test_same_host_resize_copies_locally(tmp_path):
    base = tmp_path / "image"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    images = Images({"img": ({"disk_format": "qcow2"}, str(base))})
    side = _driver(tmp_path, "one", images)
    inst = _instance(_flavor())
    side.drv.spawn(inst)
    pair = types.SimpleNamespace(src=side, dst=side)
    migration, manifest = _move(pair, inst, _flavor(memory_mb=256, name="more"))
    assert manifest["shared_storage"] and manifest["url"] is None
    assert side.drv.cold._endpoint is None          # nothing served
    resized = _resized(inst, _flavor(memory_mb=256, name="more"))
    assert side.drv.finish_migration(resized, migration, manifest, True) == states.RUNNING
    assert side.host.domains[inst.uuid].parsed.memory_mb == 256
    # Revert without the destination's step: the source clears its own way.
    assert side.drv.finish_revert_migration(inst, migration) == states.RUNNING
    assert side.host.domains[inst.uuid].parsed.memory_mb == 128
    assert sorted(os.listdir(side.instances)) == [".vmctl-storage-id", inst.uuid]


def test_held_migrations_ignore_other_hosts_copies(tmp_path):
    side = _driver(tmp_path, "one", Images({}))
    for host in ("one", "two"):
        u = str(uuid.uuid4())
        folder = os.path.join(side.instances, u + "_resize")
        os.makedirs(folder)
        instance_files.write_private_json(os.path.join(folder, "resize.json"),
                                          {"migration_uuid": host, "source_host": host})
    os.makedirs(os.path.join(side.instances, "junk_resize"))
    assert list(side.drv.held_migrations().values()) == ["one"]


@needs_qemu_img
def test_evacuation_reuses_the_disk_on_shared_storage(pair, tmp_path):
    shared = str(tmp_path / "src" / "instances")
    new = _driver(tmp_path, "new", pair.images, instances_path=shared)
    inst = _instance(_flavor())
    pair.src.drv.spawn(inst)
    pair.src.drv.power_off(inst)
    _write_guest_data(pair.src, inst)
    evacuation = types.SimpleNamespace(uuid=str(uuid.uuid4()), source_compute="src")

    assert new.drv.rebuild_evacuated(inst, evacuation) == states.RUNNING
    disk_path = os.path.join(shared, inst.uuid, "disk")
    assert _has_guest_data(disk_path)
    assert disk.backing_file(disk_path) == os.path.join(new.conf.libvirt.image_cache_path,
                                                        "img")
    assert instance_files.folder_owner(os.path.join(shared, inst.uuid)) == "new"
    # The old host comes back and cleans up: its domain goes, the folder stays.
    pair.src.drv.destroy(inst)
    assert inst.uuid not in pair.src.host.domains
    assert _has_guest_data(disk_path)
    new.drv.destroy(inst)
    assert not os.path.exists(os.path.join(shared, inst.uuid))


@needs_qemu_img
def test_evacuation_spawns_without_shared_storage(pair):
    inst = _instance(_flavor())
    pair.src.drv.spawn(inst)
    _write_guest_data(pair.src, inst)
    evacuation = types.SimpleNamespace(uuid=str(uuid.uuid4()), source_compute="src")
    assert pair.dst.drv.rebuild_evacuated(inst, evacuation) == states.RUNNING
    assert not _has_guest_data(os.path.join(pair.dst.instances, inst.uuid, "disk"))
    pair.src.drv.destroy(inst)
    assert os.path.exists(os.path.join(pair.dst.instances, inst.uuid, "disk"))
