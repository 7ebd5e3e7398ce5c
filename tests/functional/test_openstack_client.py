"""The real ``openstack`` client (python-openstackclient from PyPI) against
vmctl, as an operator runs it: an ordinary clouds.yaml pointing at vmctl's
embedded identity service, password auth, microversions negotiated by the
client itself.

Covers what issue 6 lists: servers (create/list/show/delete, power actions),
cold and live migration (with and without a host, block), resize with
confirm and revert, migration list/show/abort/force complete, events,
evacuate, flavors, hypervisors, compute services, availability zones, server
groups and images. The fake driver runs the guests, slowed down so that a
guest dirtying memory faster than the link keeps its live migration running
until it is aborted or forced.
"""

import json
import os
import subprocess
import sys
import time

import pytest

OPENSTACK = os.path.join(os.path.dirname(sys.executable), "openstack")
TERMINAL = ("completed", "failed", "cancelled", "error")
# As in test_live_migration: Nova's schedule with no way out for a guest
# dirtying faster than the link.
STUCK = {"migration:policy": "steps", "migration:permit_post_copy": "false",
         "migration:permit_auto_converge": "false", "migration:max_downtime_ms": "100"}


class Osc:
    """``openstack --os-cloud vmctl ...`` with a clouds.yaml of the admin."""

    def __init__(self, cloud, workdir):
        self.cloud = cloud
        self.config = os.path.join(workdir, "clouds.yaml")
        with open(self.config, "w") as f:
            f.write(_clouds_yaml(cloud.identity_url, cloud.admin_password))

    def run(self, *args, json_out=True, check=True, timeout=180):
        argv = [OPENSTACK, "--os-cloud", "vmctl", *args]
        if json_out:
            argv += ["-f", "json"]
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=self.config)
        env.pop("OS_CLOUD", None)
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                env=env, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError("openstack %s -> %s\n%s%s" % (
                " ".join(args), result.returncode, result.stdout, result.stderr))
        if not check:
            return result
        return json.loads(result.stdout) if json_out and result.stdout.strip() else result.stdout

    def server(self, name):
        return self.run("server", "show", name)

    def wait_server(self, name, status, timeout=60, host_not=None):
        deadline = time.monotonic() + timeout
        while True:
            server = self.server(name)
            host = server.get("OS-EXT-SRV-ATTR:host")
            if (server["status"] == status and not server.get("OS-EXT-STS:task_state")
                    and (host_not is None or host != host_not)):
                return server
            assert server["status"] != "ERROR", server
            assert time.monotonic() < deadline, "%s never %s: %s" % (name, status, server)
            time.sleep(0.5)

    def migrations(self, server):
        return self.run("server", "migration", "list", "--server", server)

    def wait_migration(self, server, statuses, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            found = self.migrations(server)
            if found and found[0]["Status"] in statuses:
                return found[0]
            assert time.monotonic() < deadline, "%s: %s" % (statuses, found)
            time.sleep(0.5)


def _clouds_yaml(auth_url, password):
    return """clouds:
  vmctl:
    auth:
      auth_url: %s
      username: admin
      password: "%s"
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
""" % (auth_url, password)


@pytest.fixture(scope="module")
def osc(cloud_factory, tmp_path_factory):
    fake = {"fake": {"migration_bandwidth_mib": 50, "migration_time_scale": 20}}
    cloud = cloud_factory("osc", computes=2, auth="vmctl",
                          compute_conf={h: fake for h in ("compute1", "compute2")})
    client = Osc(cloud, str(tmp_path_factory.mktemp("osc")))
    image = tmp_path_factory.mktemp("img") / "disk.raw"
    image.write_bytes(os.urandom(64 * 1024))
    client.run("image", "create", "--disk-format", "raw", "--container-format", "bare",
               "--file", str(image), "cirros")
    client.run("flavor", "create", "--ram", "512", "--vcpus", "1", "--disk", "1",
               *[a for k, v in STUCK.items() for a in ("--property", "%s=%s" % (k, v))],
               "osc.stuck")
    return client


def test_images_and_flavors(osc):
    # "img": the community image every test cloud holds (tests/fixtures/cloud.py).
    images = [i for i in osc.run("image", "list") if i["Name"] != "img"]
    assert [(i["Name"], i["Status"]) for i in images] == [("cirros", "active")]
    created = osc.run("flavor", "create", "--ram", "256", "--vcpus", "2", "--disk", "2",
                      "--property", "hw:cpu_policy=shared", "osc.extra")
    assert (created["name"], created["ram"], created["vcpus"]) == ("osc.extra", 256, 2)
    shown = osc.run("flavor", "show", "osc.extra")
    assert shown["properties"] == {"hw:cpu_policy": "shared"}
    assert osc.run("flavor", "show", "osc.stuck")["properties"]["migration:policy"] == "steps"
    assert "m1.tiny" in [f["Name"] for f in osc.run("flavor", "list")]


def test_server_lifecycle_and_power_actions(osc):
    created = osc.run("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                      "--wait", "osc-vm")
    assert created["status"] == "ACTIVE"
    assert "osc-vm" in [s["Name"] for s in osc.run("server", "list")]
    for action, status in (("stop", "SHUTOFF"), ("start", "ACTIVE"), ("pause", "PAUSED"),
                           ("unpause", "ACTIVE"), ("suspend", "SUSPENDED"),
                           ("resume", "ACTIVE"), ("reboot", "ACTIVE")):
        osc.run("server", action, "osc-vm", json_out=False)
        osc.wait_server("osc-vm", status)
    events = osc.run("server", "event", "list", "osc-vm")
    assert {"create", "stop", "start", "reboot"} <= {e["Action"] for e in events}
    create = next(e for e in events if e["Action"] == "create")
    shown = osc.run("server", "event", "show", "osc-vm", create["Request ID"])
    assert shown["action"] == "create" and shown["events"]
    osc.run("server", "delete", "--wait", "osc-vm", json_out=False)
    assert "osc-vm" not in [s["Name"] for s in osc.run("server", "list")]


def test_live_migration_with_and_without_host_and_block(osc):
    server = osc.run("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                     "--wait", "osc-live")
    source = server["OS-EXT-SRV-ATTR:host"]
    osc.run("server", "migrate", "--live-migration", "--wait", "osc-live", json_out=False)
    moved = osc.wait_server("osc-live", "ACTIVE")
    assert moved["OS-EXT-SRV-ATTR:host"] != source
    osc.run("server", "migrate", "--live-migration", "--host", source, "--block-migration",
            "--wait", "osc-live", json_out=False)
    assert osc.wait_server("osc-live", "ACTIVE")["OS-EXT-SRV-ATTR:host"] == source
    found = osc.migrations("osc-live")
    assert [(m["Status"], m["Type"]) for m in found] == [("completed", "live-migration")] * 2
    osc.run("server", "delete", "--wait", "osc-live", json_out=False)


def test_cold_migration_and_resize_confirm_revert(osc):
    server = osc.run("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                     "--wait", "osc-cold")
    source = server["OS-EXT-SRV-ATTR:host"]
    osc.run("server", "migrate", "--wait", "osc-cold", json_out=False)
    assert osc.wait_server("osc-cold", "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] != source
    osc.run("server", "resize", "confirm", "osc-cold", json_out=False)
    here = osc.wait_server("osc-cold", "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    osc.run("server", "migrate", "--host", source, "--wait", "osc-cold", json_out=False)
    assert osc.wait_server("osc-cold", "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] == source
    osc.run("server", "resize", "revert", "osc-cold", json_out=False)
    assert osc.wait_server("osc-cold", "ACTIVE")["OS-EXT-SRV-ATTR:host"] == here
    osc.run("server", "resize", "--flavor", "m1.small", "--wait", "osc-cold", json_out=False)
    assert osc.wait_server("osc-cold", "VERIFY_RESIZE")["flavor"]["name"] == "m1.small"
    osc.run("server", "resize", "revert", "osc-cold", json_out=False)
    assert osc.wait_server("osc-cold", "ACTIVE")["flavor"]["name"] == "m1.tiny"
    osc.run("server", "resize", "--flavor", "m1.small", "--wait", "osc-cold", json_out=False)
    osc.run("server", "resize", "confirm", "osc-cold", json_out=False)
    assert osc.wait_server("osc-cold", "ACTIVE")["flavor"]["name"] == "m1.small"
    types = {m["Type"] for m in osc.migrations("osc-cold")}
    assert types == {"migration", "resize"}
    osc.run("server", "delete", "--wait", "osc-cold", json_out=False)


def _stuck_server(osc, name):
    osc.run("server", "create", "--flavor", "osc.stuck", "--image", "cirros",
            "--property", "fake_dirty_rate_mib=200", "--wait", name)
    osc.run("server", "migrate", "--live-migration", name, json_out=False)
    return osc.wait_migration(name, ("running",) + TERMINAL)


def test_migration_show_abort_and_force_complete(osc):
    running = _stuck_server(osc, "osc-abort")
    assert running["Status"] == "running"
    # By UUID: python-openstackclient 10.5 hands openstacksdk 4.x the server
    # and migration of "show <server> <numeric id>" in the wrong order.
    shown = osc.run("server", "migration", "show", "osc-abort", running["UUID"])
    assert shown["Status"] == "running" and shown["Memory Total Bytes"] > 0, shown
    osc.run("server", "migration", "abort", "osc-abort", str(running["Id"]), json_out=False)
    assert osc.wait_migration("osc-abort", TERMINAL)["Status"] == "cancelled"
    osc.wait_server("osc-abort", "ACTIVE")

    running = _stuck_server(osc, "osc-force")
    assert running["Status"] == "running"
    osc.run("server", "migration", "force", "complete", "osc-force", str(running["Id"]),
            json_out=False)
    assert osc.wait_migration("osc-force", TERMINAL)["Status"] == "completed"
    osc.wait_server("osc-force", "ACTIVE")
    for name in ("osc-abort", "osc-force"):
        osc.run("server", "delete", "--wait", name, json_out=False)


def test_hosts_services_zones_and_server_groups(osc):
    services = osc.run("compute", "service", "list")
    computes = sorted(s["Host"] for s in services if s["Binary"] == "vmctl-compute")
    assert computes == ["compute1", "compute2"]
    assert all(s["State"] == "up" for s in services)
    hypervisors = osc.run("hypervisor", "list")
    assert sorted(h["Hypervisor Hostname"] for h in hypervisors) == computes
    shown = osc.run("hypervisor", "show", "compute1")
    assert shown["hypervisor_hostname"] == "compute1" and shown["state"] == "up"
    zones = osc.run("availability", "zone", "list", "--compute")
    assert ("nova", "available") in [(z["Zone Name"], z["Zone Status"]) for z in zones]
    group = osc.run("server", "group", "create", "--policy", "anti-affinity", "osc-group")
    assert group["policy"] == "anti-affinity"
    for name in ("osc-g1", "osc-g2"):
        osc.run("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--hint",
                "group=%s" % group["id"], "--wait", name)
    hosts = {osc.server(n)["OS-EXT-SRV-ATTR:host"] for n in ("osc-g1", "osc-g2")}
    assert hosts == {"compute1", "compute2"}
    assert len(osc.run("server", "group", "show", "osc-group")["members"]) == 2
    for name in ("osc-g1", "osc-g2"):
        osc.run("server", "delete", "--wait", name, json_out=False)


def test_evacuate(osc):
    """`openstack server evacuate --wait` cannot end (python-openstackclient
    compares a lower-cased status with 'ACTIVE'), so the test polls."""
    server = osc.run("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                     "--wait", "osc-evac")
    source = server["OS-EXT-SRV-ATTR:host"]
    osc.cloud.stop_compute(source)
    osc.run("compute", "service", "set", "--down", source, "vmctl-compute", json_out=False)
    osc.run("server", "evacuate", "osc-evac")
    moved = osc.wait_server("osc-evac", "ACTIVE", host_not=source)
    assert moved["OS-EXT-SRV-ATTR:host"] != source
    osc.run("compute", "service", "set", "--up", source, "vmctl-compute", json_out=False)
    osc.cloud.start_compute(source)
    assert osc.wait_migration("osc-evac", ("completed",))["Type"] == "evacuation"
    osc.run("server", "delete", "--wait", "osc-evac", json_out=False)
