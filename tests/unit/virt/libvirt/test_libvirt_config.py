"""Domain XML objects: what they build, and that parsing gives them back."""

import xml.etree.ElementTree as ET

import pytest

from vmctl.virt.libvirt import config

UUID = "6f1c5e0c-7d7a-4d0e-9d55-7c3f7b7f0a11"


def _domain(**kw):
    values = dict(
        virt_type="qemu", name="instance-" + UUID, uuid=UUID, memory_mb=128, vcpus=1,
        os=config.GuestOS(kernel="/c/k", initrd="/c/r", cmdline="root=/dev/vda console=ttyS0"),
        devices=[config.GuestDisk("/i/%s/disk" % UUID),
                 config.GuestSerialFile("/i/%s/console.log" % UUID),
                 config.GuestConsole("/i/%s/console.log" % UUID)],
        metadata=config.GuestMetadata("vm1", "m1.tiny", 128, 1, 1, "img-1"))
    values.update(kw)
    return config.GuestDomain(**values)


def test_domain_round_trip():
    domain = _domain()
    assert config.GuestDomain.parse_xml(domain.to_xml()) == domain


def test_domain_xml_shape():
    root = ET.fromstring(_domain().to_xml())
    assert root.get("type") == "qemu"
    assert root.findtext("uuid") == UUID
    assert root.find("memory").get("unit") == "MiB" and root.findtext("memory") == "128"
    assert root.findtext("os/kernel") == "/c/k"
    assert root.findtext("os/initrd") == "/c/r"
    assert root.find("os/boot") is None
    assert root.find("features/acpi") is not None
    assert root.find("cpu") is None
    assert (root.findtext("on_poweroff"), root.findtext("on_reboot"),
            root.findtext("on_crash")) == ("destroy", "restart", "destroy")
    assert root.find("devices/interface") is None
    serial = root.find("devices/serial")
    assert serial.get("type") == "file"
    assert serial.find("source").get("append") == "on"
    assert root.find("devices/console/target").get("type") == "serial"
    disk = root.find("devices/disk")
    assert disk.find("target").attrib == {"dev": "vda", "bus": "virtio"}
    assert disk.find("driver").get("type") == "qcow2"
    meta = root.find("metadata/{%s}instance" % config.METADATA_NS)
    assert meta.findtext("{%s}name" % config.METADATA_NS) == "vm1"


def test_boot_from_disk_without_kernel():
    domain = _domain(os=config.GuestOS())
    root = ET.fromstring(domain.to_xml())
    assert root.find("os/kernel") is None
    assert root.find("os/boot").get("dev") == "hd"
    assert config.GuestDomain.parse_xml(domain.to_xml()) == domain


@pytest.mark.parametrize("cpu", [config.GuestCPU("host-model"),
                                 config.GuestCPU("host-passthrough"),
                                 config.GuestCPU("custom", "qemu64")])
def test_cpu_round_trip(cpu):
    domain = _domain(virt_type="kvm", cpu=cpu)
    assert config.GuestDomain.parse_xml(domain.to_xml()).cpu == cpu


def test_custom_cpu_xml():
    element = config.GuestCPU("custom", "qemu64").to_element()
    assert element.get("match") == "exact"
    assert element.find("model").text == "qemu64"


@pytest.mark.parametrize("iface", [
    config.GuestInterface("ethernet", mac="52:54:00:00:00:01", target_dev="tap0"),
    config.GuestInterface("network", mac="52:54:00:00:00:02", network="default"),
])
def test_interface_round_trip(iface):
    assert config.GuestInterface.parse_xml(iface.to_xml()) == iface
    domain = _domain(devices=[iface])
    assert config.GuestDomain.parse_xml(domain.to_xml()).devices == [iface]


def test_interface_type_checked():
    with pytest.raises(ValueError):
        config.GuestInterface("bridge")


def test_parse_what_libvirt_returns():
    xml = """<domain type='qemu' id='3'>
      <name>instance-x</name><uuid>%s</uuid>
      <metadata><vmctl:instance xmlns:vmctl="%s"><vmctl:name>a</vmctl:name>
        <vmctl:flavor name="f" memory_mb="256" vcpus="2" root_gb="0"/></vmctl:instance>
        <other:thing xmlns:other="urn:other"/></metadata>
      <memory unit='KiB'>262144</memory><currentMemory unit='KiB'>262144</currentMemory>
      <vcpu placement='static'>2</vcpu>
      <os><type arch='x86_64' machine='pc-i440fx-10.0'>hvm</type><boot dev='hd'/></os>
      <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
        <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>
          <source file='/i/disk'/><target dev='vda' bus='virtio'/></disk>
        <controller type='usb'/>
        <serial type='file'><source path='/i/console.log' append='on'/>
          <target type='isa-serial' port='0'/></serial>
      </devices></domain>""" % (UUID, config.METADATA_NS)
    domain = config.GuestDomain.parse_xml(xml)
    assert domain.memory_mb == 256 and domain.vcpus == 2
    assert domain.metadata == config.GuestMetadata("a", "f", 256, 2, 0, None)
    assert domain.devices_of(config.GuestDisk)[0].source_path == "/i/disk"
    assert domain.devices_of(config.GuestSerialFile) == [config.GuestSerialFile("/i/console.log")]
    assert domain.os.boot_dev == "hd" and domain.os.kernel is None
