"""Scenario 1: the test guest, uploaded through /image/v2, boots through the
API on each libvirt host and heartbeats on its serial console."""

import os
import xml.etree.ElementTree as ET

from tests.fixtures.kvm import GUEST_CMDLINE
from vmctl.virt.libvirt import guest as libvirt_guest


def test_images_are_in_the_image_service(kvm_env):
    images = kvm_env.images
    assert images["kernel"]["disk_format"] == "aki"
    assert images["ramdisk"]["disk_format"] == "ari"
    disk = images["disk"]
    assert (disk["disk_format"], disk["status"]) == ("qcow2", "active")
    assert disk["kernel_id"] == images["kernel"]["id"]
    assert disk["ramdisk_id"] == images["ramdisk"]["id"]
    assert disk["os_command_line"] == GUEST_CMDLINE


def test_boot_on_each_host_and_heartbeat(kvm_env):
    env = kvm_env
    servers = [env.boot("kvm-boot-%s" % host, host=host, wait=False) for host in ("h1", "h2")]
    servers = [env.api.wait_for_status(s["id"], "ACTIVE", timeout=120) for s in servers]
    assert sorted(env.host_of(s) for s in servers) == ["h1", "h2"]

    for server in servers:
        host = env.host_of(server)
        assert server["OS-EXT-STS:power_state"] == 1, server
        first = env.wait_heartbeat(server["id"])
        assert first.boots == [1], first.text
        # It keeps going: a second later there are newer heartbeats, no hole.
        later = env.wait_heartbeat(server["id"], after_seq=first.seq + 5)
        assert later.boots == [1] and not later.holes(), later.summary()

        # libvirt's side: a running TCG domain booting the cached kernel and
        # initrd directly, with a qcow2 overlay in the instance's folder.
        dom = env.lab.conn(host).lookupByUUIDString(server["id"])
        assert dom.name() == "instance-%s" % server["id"]
        assert dom.state()[0] == libvirt_guest.VIR_DOMAIN_RUNNING
        xml = ET.fromstring(dom.XMLDesc(0))
        assert xml.get("type") == "qemu"
        cache = env.cloud.image_cache_path(host)
        assert xml.findtext("os/kernel") == os.path.join(cache, env.images["kernel"]["id"])
        assert xml.findtext("os/initrd") == os.path.join(cache, env.images["ramdisk"]["id"])
        assert "vmctl.dirty_mib=16" in xml.findtext("os/cmdline")
        inst_dir = env.cloud.instance_dir(host, server["id"])
        assert xml.find("devices/disk/source").get("file") == os.path.join(inst_dir, "disk")
        assert os.path.isfile(os.path.join(inst_dir, "console.log"))
        assert os.path.isfile(os.path.join(cache, env.image_id))

    env.delete([s["id"] for s in servers])
