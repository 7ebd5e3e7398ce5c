"""The configuration file of one compute agent.

devstack/stack.sh (through ``vmctl-manage compute-conf``) and the kvm test
fixture (tests/fixtures/kvm.py) build every compute's file with
``compute_groups``, so the cloud the tests exercise is configured exactly as
the one ``devstack/stack.sh`` gives a user. The file holds the service
user's password: ``write`` creates it readable by its owner only (0600).

A real compute needs little here: its libvirt URI (``qemu:///system``), its
address (``host_ip``), which other computes use for live migration and to
fetch disks from it during a cold migration or resize. The lab of
tools/kvm-lab/hosts.sh is different (``lab_host``): its hosts' addresses
exist only inside their network namespaces, where libvirtd runs, while the
agents run in the root namespace and reach each other on loopback.
"""

import configparser
import contextlib
import dataclasses
import os
import shlex

LOOPBACK = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class LibvirtHost:
    """The hypervisor host a libvirt compute agent drives."""

    connection_uri: str
    """Its libvirtd, as the agent reaches it."""
    host_dir: str
    """Where the agent keeps instances/ and the image cache _base/."""
    migration_uri: str = ""
    """Where other hosts' libvirtd reach this one (peer-to-peer live
    migration); empty: qemu+tcp://<host>/system."""
    host_ip: str = ""
    """This host's address; empty: its first non-loopback IPv4 address."""
    virt_type: str = "kvm"
    transfer_address: str = ""
    """The address the disk-transfer endpoint of cold migration listens on
    and other computes reach it at; empty: the [cold_migration] defaults
    (listen on every address, advertise host_ip)."""


@dataclasses.dataclass(frozen=True)
class ServiceUser:
    """The credentials a compute fetches images with (its [service_user])."""

    auth_url: str
    username: str
    password: str = dataclasses.field(repr=False)
    project_name: str


def lab_host(lab_env, number, host_dir):
    """LibvirtHost of host ``hNUMBER`` of a kvm lab, driven from the root namespace.

    ``lab_env``: the lab's DATADIR/lab.env as a dict (``read_lab_env``).
    The agent reaches the host's libvirtd through its unix socket; libvirtd
    daemons reach each other at their lab addresses (live migration is
    peer-to-peer), which the agents cannot reach, so the agents offer disks
    to each other on loopback. TCG: /dev/kvm here cannot run stock guests
    (shared/KVM-LAB.md).
    """
    key = "VMCTL_LAB_H%d_" % number
    return LibvirtHost(
        connection_uri=lab_env[key + "URI"],
        host_dir=host_dir,
        migration_uri=lab_env[key + "PEER_URI"],
        host_ip=lab_env[key + "ADDR"],
        virt_type="qemu",
        transfer_address=LOOPBACK,
    )


def read_lab_env(path):
    """DATADIR/lab.env of tools/kvm-lab/hosts.sh (shell assignments) as a dict."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            words = shlex.split(value)
            env[key] = words[0] if words else ""
    return env


def compute_groups(host, libvirt=None, image_api_url=None, service_user=None,
                   clean_shutdown_timeout=None):
    """{group: {option: value}} of the compute agent of ``host``.

    ``libvirt``: a LibvirtHost (None: the driver of the shared file, e.g.
    fake); ``image_api_url``: the image service the agent downloads from;
    ``service_user``: a ServiceUser.
    """
    groups = {"DEFAULT": {"host": host}}
    if libvirt is not None:
        groups["compute"] = {"compute_driver": "libvirt"}
        groups["libvirt"] = _libvirt_options(libvirt)
        if clean_shutdown_timeout is not None:
            groups["libvirt"]["clean_shutdown_timeout"] = clean_shutdown_timeout
        if libvirt.transfer_address:
            groups["cold_migration"] = {"listen_address": libvirt.transfer_address,
                                        "advertise_address": libvirt.transfer_address}
    if image_api_url:
        groups["image"] = {"api_url": image_api_url}
    if service_user is not None:
        groups["service_user"] = dataclasses.asdict(service_user)
    return groups


def _libvirt_options(libvirt):
    options = {
        "virt_type": libvirt.virt_type,
        "connection_uri": libvirt.connection_uri,
        "instances_path": os.path.join(libvirt.host_dir, "instances"),
        "image_cache_path": os.path.join(libvirt.host_dir, "_base"),
    }
    if libvirt.migration_uri:
        options["migration_uri"] = libvirt.migration_uri
    if libvirt.host_ip:
        options["host_ip"] = libvirt.host_ip
    return options


def format_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def write(path, groups, header=None):
    """Write ``groups`` as an INI file at ``path``, atomically, mode 0600."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    for group, options in groups.items():
        if group != "DEFAULT" and not parser.has_section(group):
            parser.add_section(group)
        for option, value in options.items():
            parser.set(group, option, format_value(value))
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            os.fchmod(f.fileno(), 0o600)      # whatever the umask and an old file said
            if header:
                f.writelines("# %s\n" % line for line in header.splitlines())
            parser.write(f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
