"""Domain XML as small objects: each builds its element and parses it back.

Only what vmctl's guests use is modelled; anything else in a parsed domain
is ignored. Every class has ``to_element()`` / ``to_xml()`` and a
``parse(element)`` classmethod so tests can round-trip them.
"""

import xml.etree.ElementTree as ET

# The namespace of the <metadata> element vmctl writes into every domain it
# owns. list_instances() only reports domains carrying it.
METADATA_NS = "http://vmctl.org/xmlns/libvirt/instance/1.0"
METADATA_PREFIX = "vmctl"
ET.register_namespace(METADATA_PREFIX, METADATA_NS)


def _q(tag):
    return "{%s}%s" % (METADATA_NS, tag)


def _sub(parent, tag, text=None, **attrs):
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def _text(element, path, default=None):
    found = element.find(path)
    return found.text if found is not None and found.text is not None else default


class ConfigObject:
    root_tag = None

    def to_element(self):
        raise NotImplementedError

    def to_xml(self):
        element = self.to_element()
        ET.indent(element)
        return ET.tostring(element, encoding="unicode")

    @classmethod
    def parse_xml(cls, xml):
        return cls.parse(ET.fromstring(xml))

    @classmethod
    def parse(cls, element):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, vars(self))


class GuestCPU(ConfigObject):
    """<cpu mode='host-model'|'host-passthrough'|'custom'> (custom: a model)."""

    root_tag = "cpu"

    def __init__(self, mode, model=None):
        self.mode = mode
        self.model = model

    def to_element(self):
        cpu = ET.Element("cpu", {"mode": self.mode})
        if self.mode == "custom":
            cpu.set("match", "exact")
            _sub(cpu, "model", self.model, fallback="allow")
        return cpu

    @classmethod
    def parse(cls, element):
        return cls(element.get("mode", "custom"), _text(element, "model"))


class GuestDisk(ConfigObject):
    """A file-backed disk: <disk type='file' device='disk'>."""

    root_tag = "disk"

    def __init__(self, source_path, target_dev="vda", target_bus="virtio",
                 driver_type="qcow2", cache="none"):
        self.source_path = source_path
        self.target_dev = target_dev
        self.target_bus = target_bus
        self.driver_type = driver_type
        self.cache = cache

    def to_element(self):
        disk = ET.Element("disk", {"type": "file", "device": "disk"})
        _sub(disk, "driver", name="qemu", type=self.driver_type, cache=self.cache)
        _sub(disk, "source", file=self.source_path)
        _sub(disk, "target", dev=self.target_dev, bus=self.target_bus)
        return disk

    @classmethod
    def parse(cls, element):
        driver = element.find("driver")
        target = element.find("target")
        source = element.find("source")
        return cls(source.get("file") if source is not None else None,
                   target.get("dev") if target is not None else None,
                   target.get("bus") if target is not None else None,
                   driver.get("type") if driver is not None else None,
                   driver.get("cache") if driver is not None else None)


class GuestSerialFile(ConfigObject):
    """The serial port written to a file, appended to across restarts."""

    root_tag = "serial"

    def __init__(self, path, port=0):
        self.path = path
        self.port = port

    def to_element(self):
        serial = ET.Element("serial", {"type": "file"})
        _sub(serial, "source", path=self.path, append="on")
        _sub(serial, "target", port=self.port)
        return serial

    @classmethod
    def parse(cls, element):
        source = element.find("source")
        target = element.find("target")
        return cls(source.get("path") if source is not None else None,
                   int(target.get("port", 0)) if target is not None else 0)


class GuestConsole(ConfigObject):
    """<console> aliasing serial port 0 (what virsh console attaches to)."""

    root_tag = "console"

    def __init__(self, path):
        self.path = path

    def to_element(self):
        console = ET.Element("console", {"type": "file"})
        _sub(console, "source", path=self.path, append="on")
        _sub(console, "target", type="serial", port=0)
        return console

    @classmethod
    def parse(cls, element):
        source = element.find("source")
        return cls(source.get("path") if source is not None else None)


class GuestInterface(ConfigObject):
    """<interface type='ethernet'|'network'> with a virtio NIC.

    vmctl does not plug networks yet: spawn builds no interface. The object
    exists so that networking can be added without touching the rest.
    """

    root_tag = "interface"

    def __init__(self, net_type, mac=None, target_dev=None, network=None, model="virtio"):
        if net_type not in ("ethernet", "network"):
            raise ValueError("unsupported interface type %r" % net_type)
        self.net_type = net_type
        self.mac = mac
        self.target_dev = target_dev
        self.network = network
        self.model = model

    def to_element(self):
        iface = ET.Element("interface", {"type": self.net_type})
        if self.mac:
            _sub(iface, "mac", address=self.mac)
        if self.net_type == "network":
            _sub(iface, "source", network=self.network)
        if self.target_dev:
            _sub(iface, "target", dev=self.target_dev)
        _sub(iface, "model", type=self.model)
        return iface

    @classmethod
    def parse(cls, element):
        def attr(tag, name):
            found = element.find(tag)
            return found.get(name) if found is not None else None
        return cls(element.get("type"), attr("mac", "address"), attr("target", "dev"),
                   attr("source", "network"), attr("model", "type"))


class GuestMetadata(ConfigObject):
    """vmctl's own <vmctl:instance> element inside <metadata>."""

    root_tag = _q("instance")

    def __init__(self, name, flavor_name=None, memory_mb=None, vcpus=None,
                 root_gb=None, image_id=None):
        self.name = name
        self.flavor_name = flavor_name
        self.memory_mb = memory_mb
        self.vcpus = vcpus
        self.root_gb = root_gb
        self.image_id = image_id

    def to_element(self):
        meta = ET.Element(_q("instance"))
        _sub(meta, _q("name"), self.name)
        _sub(meta, _q("flavor"), name=self.flavor_name, memory_mb=self.memory_mb,
             vcpus=self.vcpus, root_gb=self.root_gb)
        if self.image_id:
            _sub(meta, _q("image"), id=self.image_id)
        return meta

    @classmethod
    def parse(cls, element):
        flavor = element.find(_q("flavor"))
        image = element.find(_q("image"))

        def fint(name):
            value = flavor.get(name) if flavor is not None else None
            return int(value) if value is not None else None
        return cls(_text(element, _q("name")),
                   flavor.get("name") if flavor is not None else None,
                   fint("memory_mb"), fint("vcpus"), fint("root_gb"),
                   image.get("id") if image is not None else None)


class GuestOS(ConfigObject):
    """<os>: direct kernel boot when ``kernel`` is set, else boot from disk."""

    root_tag = "os"

    def __init__(self, kernel=None, initrd=None, cmdline=None, boot_dev="hd"):
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
        self.boot_dev = boot_dev

    def to_element(self):
        os_el = ET.Element("os")
        _sub(os_el, "type", "hvm")
        if self.kernel:
            _sub(os_el, "kernel", self.kernel)
            if self.initrd:
                _sub(os_el, "initrd", self.initrd)
            if self.cmdline:
                _sub(os_el, "cmdline", self.cmdline)
        else:
            _sub(os_el, "boot", dev=self.boot_dev)
        return os_el

    @classmethod
    def parse(cls, element):
        boot = element.find("boot")
        return cls(_text(element, "kernel"), _text(element, "initrd"),
                   _text(element, "cmdline"),
                   boot.get("dev") if boot is not None else "hd")


# Device classes parse() recognises, by tag.
_DEVICE_CLASSES = {"disk": GuestDisk, "serial": GuestSerialFile,
                   "console": GuestConsole, "interface": GuestInterface}


class GuestDomain(ConfigObject):
    """A whole <domain>."""

    root_tag = "domain"

    def __init__(self, virt_type, name, uuid, memory_mb, vcpus, os=None, cpu=None,
                 devices=None, metadata=None, on_poweroff="destroy",
                 on_reboot="restart", on_crash="destroy"):
        self.virt_type = virt_type
        self.name = name
        self.uuid = uuid
        self.memory_mb = memory_mb
        self.vcpus = vcpus
        self.os = os or GuestOS()
        self.cpu = cpu
        self.devices = list(devices or [])
        self.metadata = metadata
        self.on_poweroff = on_poweroff
        self.on_reboot = on_reboot
        self.on_crash = on_crash

    def to_element(self):
        dom = ET.Element("domain", {"type": self.virt_type})
        _sub(dom, "name", self.name)
        _sub(dom, "uuid", self.uuid)
        if self.metadata is not None:
            _sub(dom, "metadata").append(self.metadata.to_element())
        _sub(dom, "memory", self.memory_mb, unit="MiB")
        _sub(dom, "vcpu", self.vcpus)
        dom.append(self.os.to_element())
        features = _sub(dom, "features")
        _sub(features, "acpi")
        _sub(features, "apic")
        if self.cpu is not None:
            dom.append(self.cpu.to_element())
        _sub(dom, "clock", offset="utc")
        _sub(dom, "on_poweroff", self.on_poweroff)
        _sub(dom, "on_reboot", self.on_reboot)
        _sub(dom, "on_crash", self.on_crash)
        devices = _sub(dom, "devices")
        for device in self.devices:
            devices.append(device.to_element())
        _sub(devices, "memballoon", model="virtio")
        return dom

    @classmethod
    def parse(cls, element):
        metadata = element.find("metadata/" + _q("instance"))
        cpu = element.find("cpu")
        os_el = element.find("os")
        devices = [_DEVICE_CLASSES[child.tag].parse(child)
                   for child in element.findall("devices/*")
                   if child.tag in _DEVICE_CLASSES]
        return cls(element.get("type"), _text(element, "name"), _text(element, "uuid"),
                   _memory_mb(element.find("memory")), int(_text(element, "vcpu", "1")),
                   GuestOS.parse(os_el) if os_el is not None else None,
                   GuestCPU.parse(cpu) if cpu is not None else None,
                   devices,
                   GuestMetadata.parse(metadata) if metadata is not None else None,
                   _text(element, "on_poweroff", "destroy"),
                   _text(element, "on_reboot", "restart"),
                   _text(element, "on_crash", "destroy"))

    def devices_of(self, kind):
        return [d for d in self.devices if isinstance(d, kind)]


# libvirt writes <memory unit='KiB'> back whatever unit it was given.
_UNIT_TO_KIB = {"b": 1 / 1024, "bytes": 1 / 1024, "k": 1, "kib": 1, "kb": 1000 / 1024,
                "m": 1024, "mib": 1024, "mb": 1000 * 1000 / 1024, "g": 1024 * 1024,
                "gib": 1024 * 1024}


def _memory_mb(element):
    if element is None or not element.text:
        return None
    factor = _UNIT_TO_KIB.get(element.get("unit", "KiB").lower(), 1)
    return int(int(element.text) * factor // 1024)
