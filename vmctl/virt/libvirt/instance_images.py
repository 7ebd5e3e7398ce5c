"""The images an instance boots from, in this host's image cache.

An instance's image (``raw`` or ``qcow2``), and for direct kernel boot the
kernel (``kernel_id``) and ramdisk (``ramdisk_id``) it names, are checked
(active, a supported format), fetched into ``imagecache.ImageCache``
through the compute's image client, and recorded in the instance's folder
(``images.json``) so the cache keeps them while it lives here. The root
disk is a qcow2 overlay on the cached base image, grown to the flavor's
root disk.
"""

from vmctl.image_client import client as image_client
from vmctl.virt import driver
from vmctl.virt.libvirt import config
from vmctl.virt.libvirt import disk
from vmctl.virt.libvirt import imagecache

ROOT_FORMATS = ("raw", "qcow2")
# Formats accepted for the kernel / ramdisk of a direct-kernel-boot image.
BOOT_FILE_FORMATS = {"kernel_id": ("aki", "raw"), "ramdisk_id": ("ari", "raw")}
DEFAULT_CMDLINE = "root=/dev/vda console=ttyS0"


def kernel_cmdline(cmdline):
    """The image's command line with the serial console ensured."""
    cmdline = (cmdline or "").strip() or DEFAULT_CMDLINE
    if "console=ttyS0" not in cmdline.split():
        cmdline += " console=ttyS0"
    return cmdline


class InstanceImages:
    """``cache``: this host's ``ImageCache``; ``conf``: for the image client,
    made on first use unless one is given (``client``)."""

    def __init__(self, cache, conf, client=None):
        self.cache = cache
        self.conf = conf
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = image_client.ImageClient(self.conf)
        return self._client

    def prepare(self, instance, inst_dir, write_refs=True):
        """The instance's images in this host's cache, recorded in its folder
        (unless ``write_refs`` is false: a folder another host shares and
        already recorded): (root image meta, base image path, the <os> config)."""
        image_id = instance.image_ref
        meta = self._image_meta(image_id, ROOT_FORMATS, "disk_format")
        boot_files = self._boot_file_metas(image_id, meta)
        if write_refs:
            imagecache.write_instance_refs(
                inst_dir, [image_id] + [m["id"] for m in boot_files.values()])
        base = self._fetch(image_id, meta["disk_format"])
        paths = {key: self._fetch(m["id"], m["disk_format"]) for key, m in boot_files.items()}
        os_config = config.GuestOS()
        if "kernel_id" in paths:
            os_config = config.GuestOS(kernel=paths["kernel_id"],
                                       initrd=paths.get("ramdisk_id"),
                                       cmdline=kernel_cmdline(meta.get("os_command_line")))
        return meta, base, os_config

    @staticmethod
    def create_root_disk(instance, meta, base, disk_path):
        """The qcow2 overlay on ``base``, the flavor's root disk size (DiskError)."""
        virtual_size = disk.info(base, fmt=meta["disk_format"])["virtual-size"]
        size = disk.root_disk_size(instance.flavor.root_gb, virtual_size)
        disk.create_overlay(base, meta["disk_format"], disk_path, size)

    def _show_image(self, image_id):
        try:
            return self.client.show(image_id)
        except image_client.ImageError as exc:
            raise driver.VirtError("image %s is not available: %s" % (image_id, exc)) from exc

    def _image_meta(self, image_id, formats, what):
        if not imagecache.valid_image_id(image_id):
            raise driver.VirtError("invalid image id %r" % (image_id,))
        meta = self._show_image(image_id)
        if meta.get("status", "active") != "active":
            raise driver.VirtError("image %s is not active (status %s)"
                                   % (image_id, meta.get("status")))
        disk_format = meta.get("disk_format")
        if disk_format not in formats:
            raise driver.VirtError("image %s has unsupported disk_format %s"
                                   % (image_id, disk_format))
        return meta

    def _boot_file_metas(self, image_id, meta):
        """{'kernel_id': meta, 'ramdisk_id': meta} of a direct-kernel-boot image."""
        if meta.get("ramdisk_id") and not meta.get("kernel_id"):
            raise driver.VirtError("image %s has a ramdisk_id but no kernel_id" % image_id)
        metas = {}
        for key, formats in BOOT_FILE_FORMATS.items():
            file_id = meta.get(key)
            if file_id:
                metas[key] = self._image_meta(file_id, formats, key)
                metas[key].setdefault("id", file_id)
        return metas

    def _fetch(self, image_id, disk_format):
        def verify(path):
            if disk_format in ROOT_FORMATS:
                disk.check_base_image(path, disk_format)
        try:
            return self.cache.fetch(image_id, disk_format, self.client.download, verify)
        except disk.DiskError as exc:
            raise driver.VirtError("image %s is unusable: %s" % (image_id, exc)) from exc
        except image_client.ImageError as exc:
            # Its message names the image already; faults keep 255 characters.
            raise driver.VirtError("download failed: %s" % exc) from exc
