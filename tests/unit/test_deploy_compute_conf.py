"""The compute configuration devstack and the kvm fixture share
(vmctl/deploy/compute_conf.py, ``vmctl-manage compute-conf``)."""

import os
import stat

from vmctl.cmd import common
from vmctl.cmd import manage
from vmctl.deploy import compute_conf

LAB_ENV = {
    "VMCTL_LAB_H2_URI": "qemu+unix:///system?socket=/lab/h2/run/libvirt/libvirt-sock",
    "VMCTL_LAB_H2_PEER_URI": "qemu+tcp://10.251.0.2/system",
    "VMCTL_LAB_H2_ADDR": "10.251.0.2",
}


def _load(path):
    """The file as the compute agent reads it (every option registered)."""
    conf = common.make_conf()
    conf(["--config-file", str(path)], project="vmctl", default_config_files=[])
    return conf


def test_a_lab_host_offers_disks_on_loopback_and_migrates_at_its_lab_address(tmp_path):
    # Regression (issue 11, bug 1): devstack's computes advertised their
    # lab address for cold migration, which the agents (root namespace)
    # cannot reach; the tests' computes used loopback.
    host = compute_conf.lab_host(LAB_ENV, 2, "/data/hosts/compute2")
    path = tmp_path / "compute2.conf"
    compute_conf.write(str(path), compute_conf.compute_groups("compute2", libvirt=host))
    conf = _load(path)
    assert conf.host == "compute2"
    assert conf.compute.compute_driver == "libvirt"
    assert conf.libvirt.virt_type == "qemu"
    assert conf.libvirt.connection_uri == LAB_ENV["VMCTL_LAB_H2_URI"]
    assert conf.libvirt.migration_uri == "qemu+tcp://10.251.0.2/system"
    assert conf.libvirt.host_ip == "10.251.0.2"
    assert conf.libvirt.instances_path == "/data/hosts/compute2/instances"
    assert conf.libvirt.image_cache_path == "/data/hosts/compute2/_base"
    assert conf.cold_migration.listen_address == "127.0.0.1"
    assert conf.cold_migration.advertise_address == "127.0.0.1"


def test_a_real_host_keeps_the_defaults_and_advertises_its_own_address(tmp_path):
    host = compute_conf.LibvirtHost("qemu:///system", "/var/lib/vmctl", host_ip="192.0.2.7")
    path = tmp_path / "c.conf"
    compute_conf.write(str(path), compute_conf.compute_groups("node7", libvirt=host))
    conf = _load(path)
    assert conf.libvirt.virt_type == "kvm"
    assert conf.libvirt.host_ip == "192.0.2.7"
    assert conf.cold_migration.listen_address == "0.0.0.0"
    assert conf.cold_migration.advertise_address is None   # -> host_ip


def test_the_file_is_private_and_replaced_whole(tmp_path):
    path = tmp_path / "c.conf"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    user = compute_conf.ServiceUser("http://127.0.0.1:1/identity/v3", "svc", "pw", "service")
    compute_conf.write(str(path), compute_conf.compute_groups("c1", service_user=user),
                       header="a\nb")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("# a\n# b\n") and "old" not in text
    assert _load(path).service_user.password == "pw"
    assert "pw" not in repr(user)
    assert os.listdir(tmp_path) == ["c.conf"]


def test_vmctl_manage_compute_conf_reads_the_password_from_a_file(tmp_path, capsys):
    env = tmp_path / "lab.env"
    env.write_text("".join("%s='%s'\n" % kv for kv in LAB_ENV.items()))
    secret = tmp_path / "pw"
    secret.write_text("s3cret-value\n")
    out = tmp_path / "compute2.conf"
    assert manage.main([
        "compute-conf", "--output", str(out), "--host", "compute2",
        "--lab-env", str(env), "--lab-host", "2", "--host-dir", str(tmp_path / "h"),
        "--image-api-url", "http://127.0.0.1:8774/image",
        "--service-auth-url", "http://127.0.0.1:8774/identity/v3",
        "--service-username", "vmctl-compute", "--service-password-file", str(secret)]) == 0
    printed = capsys.readouterr()
    assert "s3cret" not in printed.out + printed.err
    conf = _load(out)
    assert conf.service_user.password == "s3cret-value"
    assert conf.service_user.project_name == "service"
    assert conf.image.api_url == "http://127.0.0.1:8774/image"
    assert conf.cold_migration.advertise_address == "127.0.0.1"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
