"""LibvirtDriver logic against a fake Host (qemu-img real when installed)."""

import os
import shutil
import subprocess
import types
import uuid

import pytest

from tests.fixtures.conf import make_conf
from vmctl import instance_states as states
from vmctl.image_client import client as image_client
from vmctl.objects import flavor as flavor_obj
from vmctl.objects import instance as instance_obj
from vmctl.virt import driver as virt_driver
from vmctl.virt.libvirt import config
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import driver as lv_driver
from vmctl.virt.libvirt import guest as lv_guest
from vmctl.virt.libvirt import guests as libvirt_guests
from vmctl.virt.libvirt import instance_files
from vmctl.virt.libvirt import instance_images

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None,
                                    reason="qemu-img is not installed")


# --- pure helpers --------------------------------------------------------------
def test_checked_uuid():
    u = str(uuid.uuid4())
    assert instance_files.checked_uuid(u.upper()) == u
    for bad in ("../../etc", "", "x"):
        with pytest.raises(virt_driver.VirtError):
            instance_files.checked_uuid(bad)


@pytest.mark.parametrize("virt_type, mode, model, expected", [
    ("qemu", "host-model", "", None),
    ("qemu", "host-passthrough", "", None),
    ("qemu", "custom", "qemu64", config.GuestCPU("custom", "qemu64")),
    ("kvm", "host-model", "", config.GuestCPU("host-model")),
    ("kvm", "host-passthrough", "", config.GuestCPU("host-passthrough")),
    ("kvm", "none", "", None),
])
def test_cpu_config(virt_type, mode, model, expected):
    assert libvirt_guests.cpu_config(virt_type, mode, model) == expected


def test_custom_cpu_needs_a_model():
    with pytest.raises(virt_driver.VirtError, match="cpu_model"):
        libvirt_guests.cpu_config("kvm", "custom", "")


@pytest.mark.parametrize("given, expected", [
    (None, "root=/dev/vda console=ttyS0"),
    ("quiet", "quiet console=ttyS0"),
    ("console=ttyS0 quiet", "console=ttyS0 quiet"),
    ("console=ttyS00", "console=ttyS00 console=ttyS0"),
])
def test_kernel_cmdline(given, expected):
    assert instance_images.kernel_cmdline(given) == expected


def test_tail_lines(tmp_path):
    log = tmp_path / "console.log"
    log.write_bytes(b"one\ntwo\nthree\n\xff\n")
    assert lv_driver.tail_lines(str(log)) == "one\ntwo\nthree\n\ufffd\n"
    assert lv_driver.tail_lines(str(log), 2) == "three\n\ufffd\n"
    assert lv_driver.tail_lines(str(log), 0) == ""
    assert lv_driver.tail_lines(str(log), 100).startswith("one")
    # only the last max_bytes are read, and the cut first line is dropped
    assert lv_driver.tail_lines(str(log), max_bytes=9) == "three\n\ufffd\n"


@pytest.mark.parametrize("uri, local", [
    ("qemu:///system", True),
    ("qemu+unix:///system?socket=/x/libvirt-sock", True),
    ("qemu+tcp://10.0.0.2/system", False),
    ("qemu+ssh://root@h/system", False),
    ("qemu://h/system", False),
])
def test_uri_is_local(uri, local):
    assert lv_driver.uri_is_local(uri) is local


# --- the driver with a fake host -------------------------------------------------
class FakeDomain:
    def __init__(self, xml):
        self.xml = xml
        self.parsed = config.GuestDomain.parse_xml(xml)
        self.state = lv_guest.VIR_DOMAIN_SHUTOFF


class FakeGuest:
    def __init__(self, dom, domains):
        self.dom = dom
        self.uuid = dom.parsed.uuid
        self._domains = domains

    def xml(self, flags=0):
        return self.dom.xml

    def state(self):
        return self.dom.state

    def is_active(self):
        return self.dom.state == lv_guest.VIR_DOMAIN_RUNNING

    def undefine(self):
        self._domains.pop(self.uuid, None)

    def start(self):
        self.dom.state = lv_guest.VIR_DOMAIN_RUNNING

    def power_state(self):
        return lv_guest.power_state_from_libvirt(self.dom.state)

    def destroy(self):
        self.dom.state = lv_guest.VIR_DOMAIN_SHUTOFF

    def has_metadata(self, ns):
        return self.dom.parsed.metadata is not None


class FakeHost:
    uri = "test:///default"

    def __init__(self):
        self.domains = {}
        self.fail_start = False

    def get_connection(self):
        return self

    def lookup(self, u):
        dom = self.domains.get(u)
        return FakeGuest(dom, self.domains) if dom else None

    def define(self, xml):
        dom = FakeDomain(xml)
        old = self.domains.get(dom.parsed.uuid)
        if old is not None:     # redefining keeps a running guest running
            dom.state = old.state
        self.domains[dom.parsed.uuid] = dom
        guest = FakeGuest(dom, self.domains)
        if self.fail_start:
            guest.start = self._fail
        return guest

    @staticmethod
    def _fail():
        raise RuntimeError("qemu died")

    def list_guests(self):
        return [FakeGuest(d, self.domains) for d in self.domains.values()]


class Images:
    def __init__(self, files):
        self.files = files      # id -> (meta, path)

    def show(self, image_id):
        if image_id not in self.files:
            raise image_client.ImageNotFound("image %s not found" % image_id)
        return dict(self.files[image_id][0], id=image_id, status="active")

    def download(self, image_id, dest):
        shutil.copyfile(self.files[image_id][1], dest)


@pytest.fixture
def env(tmp_path):
    conf = make_conf(project="vmctl-test")
    conf.set_override("state_path", str(tmp_path))
    conf.set_override("virt_type", "qemu", "libvirt")
    base = tmp_path / "src-disk"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not qcow2" * 100)
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"kernel")
    images = Images({
        "img": ({"disk_format": "qcow2", "kernel_id": "k", "ramdisk_id": "r",
                 "os_command_line": "quiet"}, str(base)),
        "k": ({"disk_format": "aki"}, str(kernel)),
        "r": ({"disk_format": "ari"}, str(kernel)),
        "junk": ({"disk_format": "qcow2"}, str(junk)),
        "iso": ({"disk_format": "iso"}, str(junk)),
    })
    host = FakeHost()
    drv = lv_driver.LibvirtDriver(conf, image_client=images, host=host)
    drv.init_host = None   # not exercised here (needs domain capabilities)
    os.makedirs(conf.libvirt.instances_path)
    return types.SimpleNamespace(conf=conf, drv=drv, host=host, tmp=tmp_path)


def _instance(image="img", root_gb=1):
    flavor = flavor_obj.Flavor(flavorid="1", name="tiny", vcpus=1, memory_mb=128,
                               root_gb=root_gb, ephemeral_gb=0, swap=0, extra_specs={})
    return instance_obj.Instance(uuid=str(uuid.uuid4()), display_name="vm", project_id="p",
                                 user_id="u", vm_state="building", image_ref=image,
                                 metadata={}, flavor=flavor)


@needs_qemu_img
def test_spawn_defines_kernel_boot_domain(env):
    inst = _instance()
    assert env.drv.spawn(inst) == states.RUNNING
    dom = env.host.domains[inst.uuid].parsed
    cache = env.conf.libvirt.image_cache_path
    inst_dir = os.path.join(env.conf.libvirt.instances_path, inst.uuid)
    assert dom.virt_type == "qemu" and dom.name == "instance-" + inst.uuid
    assert (dom.memory_mb, dom.vcpus, dom.cpu) == (128, 1, None)
    assert dom.os.kernel == os.path.join(cache, "k")
    assert dom.os.initrd == os.path.join(cache, "r")
    assert dom.os.cmdline == "quiet console=ttyS0"
    assert dom.devices_of(config.GuestDisk)[0].source_path == inst_dir + "/disk"
    assert dom.devices_of(config.GuestSerialFile)[0].path == inst_dir + "/console.log"
    assert dom.metadata.flavor_name == "tiny"
    assert sorted(os.listdir(inst_dir)) == ["disk", "images.json"]
    assert env.drv.list_instances() == {inst.uuid: states.RUNNING}


@needs_qemu_img
@pytest.mark.parametrize("image, message", [
    ("iso", "image iso has unsupported disk_format iso"),
    ("junk", "image junk is unusable: image contents are raw, not the declared qcow2"),
    ("nope", "image nope is not available: image nope not found"),
])
def test_spawn_refuses_bad_images(env, image, message):
    inst = _instance(image)
    with pytest.raises(virt_driver.VirtError) as err:
        env.drv.spawn(inst)
    assert str(err.value) == message
    assert os.listdir(env.conf.libvirt.instances_path) == []
    assert "junk" not in env.drv._cache.cached_images()


@needs_qemu_img
def test_failed_start_cleans_up_but_keeps_cache(env):
    env.host.fail_start = True
    inst = _instance()
    with pytest.raises(virt_driver.VirtError, match="cannot spawn instance"):
        env.drv.spawn(inst)
    assert env.host.domains == {}
    assert os.listdir(env.conf.libvirt.instances_path) == []
    assert env.drv._cache.cached_images() == ["img", "k", "r"]


@needs_qemu_img
def test_flavor_smaller_than_image_is_refused(env, monkeypatch):
    monkeypatch.setattr(disk, "GiB", 1024 * 1024)   # root_gb=1 -> 1 MiB
    with pytest.raises(virt_driver.VirtError, match="smaller than the image"):
        env.drv.spawn(_instance())


@needs_qemu_img
def test_destroy_is_idempotent_and_local(env):
    a, b = _instance(), _instance()
    env.drv.spawn(a)
    env.drv.spawn(b)
    env.drv.destroy(a)
    env.drv.destroy(a)
    assert os.listdir(env.conf.libvirt.instances_path) == [b.uuid]
    assert list(env.host.domains) == [b.uuid]
    assert env.drv.get_power_state(a) == states.NOSTATE
    assert env.drv._cache.cached_images() == ["img", "k", "r"]
    env.drv.destroy(b)
    env.conf.set_override("image_cache_unused_seconds", 0, "libvirt")
    env.drv._cache.unused_seconds = 0
    assert env.drv.cleanup_image_cache() == ["img", "k", "r"]


def test_destroy_refuses_strange_uuids(env):
    with pytest.raises(virt_driver.VirtError):
        env.drv.destroy(types.SimpleNamespace(uuid="../../../etc"))


def test_list_instances_ignores_foreign_domains(env):
    env.host.define(config.GuestDomain("qemu", "other", str(uuid.uuid4()), 64, 1).to_xml())
    assert env.drv.list_instances() == {}


def test_console_output(env):
    inst = _instance()
    with pytest.raises(virt_driver.VirtError, match="no console log"):
        env.drv.get_console_output(inst)
    inst_dir = os.path.join(env.conf.libvirt.instances_path, inst.uuid)
    os.makedirs(inst_dir)
    with open(os.path.join(inst_dir, "console.log"), "w") as f:
        f.write("a\nb\nc\n")
    assert env.drv.get_console_output(inst, 2) == "b\nc\n"
