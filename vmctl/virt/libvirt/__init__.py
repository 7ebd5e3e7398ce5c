"""The libvirt (QEMU/KVM) virt driver: host, guest, config, driver layers."""
