"""The vmctl CLI as a user runs it: the installed ``vmctl`` program, in a
subprocess, against a real cloud (every daemon a process, fake hypervisors),
configured by a clouds.yaml written for the test.

Progress goes to stderr as plain lines when stderr is not a terminal (as
here); results go to stdout.
"""

import json
import os
import subprocess
import sys
import time

import pytest

# Extra specs under which a guest dirtying faster than the link never
# converges: its live migration runs until aborted or forced.
from tests.functional.test_live_migration import STUCK

VMCTL = os.path.join(os.path.dirname(sys.executable), "vmctl")
HOSTS = ("compute1", "compute2", "compute3")


@pytest.fixture(scope="module")
def cli_cloud(cloud_factory):
    # A slow modelled link (as test_live_migration): a 512 MiB guest takes
    # ~10 modelled seconds, 0.5 s real.
    fake = {"fake": {"migration_bandwidth_mib": 50, "migration_time_scale": 20}}
    return cloud_factory("cli", computes=list(HOSTS), compute_conf={h: fake for h in HOSTS},
                         conf_overrides={"api": {"auth_strategy": "noauth"}})


@pytest.fixture(scope="module")
def env(cli_cloud, tmp_path_factory):
    """The environment of a user whose clouds.yaml names the test cloud."""
    folder = tmp_path_factory.mktemp("cli-config")
    path = folder / "clouds.yaml"
    path.write_text("clouds:\n  test:\n    auth_type: noauth\n    auth:\n"
                    "      endpoint: http://127.0.0.1:%d\n      user: admin\n"
                    "      project: admin\n" % cli_cloud.api_port)
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("OS_", "VMCTL_"))}
    environ.update({"OS_CLOUD": "test", "OS_CLIENT_CONFIG_FILE": str(path),
                    "HOME": str(folder)})
    return environ


@pytest.fixture(autouse=True)
def _clean(cli_cloud):
    yield
    cli_cloud.delete_all_servers()


def vmctl(env, *args, expect=0, timeout=180):
    """Run vmctl; (stdout, stderr). Fails unless the exit code is ``expect``."""
    result = subprocess.run([VMCTL, *args], env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == expect, (
        "vmctl %s exited %d (expected %d)\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), result.returncode, expect, result.stdout, result.stderr))
    return result.stdout, result.stderr


def vmctl_json(env, *args):
    return json.loads(vmctl(env, *args, "-f", "json")[0])


def boot(env, name, *extra):
    # "img": the image every test cloud holds (tests/fixtures/cloud.py IMAGE).
    return vmctl_json(env, "server", "create", name, "--flavor", "m1.tiny", "--image",
                      "img", "--wait", *extra)


def wait_migration(env, server, statuses, timeout=60):
    deadline = time.monotonic() + timeout
    found = []
    while time.monotonic() < deadline:
        found = vmctl_json(env, "migration", "list", "--server", server, "--type",
                           "live-migration", "--limit", "1")
        if found and found[0]["Status"] in statuses:
            return found[0]
        time.sleep(0.3)
    raise AssertionError("the live migration of %s never reached %s: %s"
                         % (server, statuses, found))


def test_server_lifecycle(env):
    created = boot(env, "cli-life")
    assert created["status"] == "ACTIVE" and created["name"] == "cli-life"
    out, _ = vmctl(env, "server", "list")
    assert "cli-life" in out and "| ID " in out
    listed = vmctl_json(env, "server", "list", "--status", "active")
    assert [s["ID"] for s in listed if s["Name"] == "cli-life"] == [created["id"]]
    out, _ = vmctl(env, "server", "show", "cli-life", "-f", "value", "-c", "status")
    assert out == "ACTIVE\n"
    # --json is -f json, after the command or before the group
    assert json.loads(vmctl(env, "server", "show", "cli-life", "--json")[0])["id"] == \
        created["id"]
    assert "m1.tiny" in [f["Name"] for f in json.loads(vmctl(env, "--json", "flavor",
                                                             "list")[0])]
    _, err = vmctl(env, "server", "stop", "cli-life", "--wait")
    assert "server cli-life: SHUTOFF" in err.splitlines()[-1]
    vmctl(env, "server", "start", created["id"], "--wait")
    vmctl(env, "server", "reboot", "cli-life", "--hard", "--wait")
    events = vmctl_json(env, "server", "event", "list", "cli-life")
    assert [e["Action"] for e in events][:3] == ["reboot_hard", "start", "stop"]
    shown = vmctl_json(env, "server", "event", "show", "cli-life", events[-1]["Request ID"])
    assert shown["action"] == "create" and shown["events"]
    out, _ = vmctl(env, "server", "delete", "cli-life", "--wait")
    assert out.startswith("Deleted server cli-life")
    assert vmctl_json(env, "server", "list", "--name", "cli-life") == []


def test_live_migrate_wait_shows_progress_decisions_and_summary(env):
    server = boot(env, "cli-live", "--property", "fake_dirty_rate_mib=10")
    source = server["OS-EXT-SRV-ATTR:host"]
    out, err = vmctl(env, "server", "live-migrate", "cli-live", "--wait")
    lines = err.splitlines()
    assert any(line.startswith("migration ") and ": running (%s -> " % source in line
               for line in lines), err
    assert any(line.startswith("decision: set_downtime(downtime_ms=") for line in lines), err
    progress = [line for line in lines if line.startswith("live-migrate cli-live: ")]
    assert progress and "downtime" in progress[-1] and "dirty" in progress[-1], err
    assert progress[-1].startswith("live-migrate cli-live: 100% completed"), err
    moved = vmctl_json(env, "server", "show", "cli-live")
    dest = moved["OS-EXT-SRV-ATTR:host"]
    assert dest != source
    assert out.startswith("live-migrated cli-live: %s -> %s in " % (source, dest)), out
    assert "allowed downtime" in out


def test_live_migrate_wait_shows_an_escalation_as_it_happens(env):
    vmctl(env, "flavor", "create", "cli-postcopy", "--ram", "512", "--disk", "1",
          "--property", "migration:policy=adaptive",
          "--property", "migration:permit_post_copy=true")
    vmctl(env, "server", "create", "cli-hot", "--flavor", "cli-postcopy", "--image",
          "img", "--property", "fake_dirty_rate_mib=200", "--wait")
    out, err = vmctl(env, "server", "live-migrate", "cli-hot", "--wait")
    lines = err.splitlines()
    decisions = [line for line in lines if line.startswith("decision: ")]
    assert any(d.startswith("decision: start_postcopy(): not converging") for d in decisions), \
        err
    # shown as it happened: the watch went on after it, to the end
    after = lines[lines.index(decisions[-1]):]
    assert any(line.startswith("migration ") and ": completed (" in line for line in after), err
    assert out.rstrip().endswith(", switched to post-copy"), out


def test_failed_live_migration_is_one_line_and_exit_1(env):
    boot(env, "cli-live-fail")
    # No shared storage between the fake hosts: the pre-checks refuse.
    out, err = vmctl(env, "server", "live-migrate", "cli-live-fail", "--no-block", "--wait",
                     expect=1)
    last = err.splitlines()[-1]
    assert last.startswith("vmctl: error: live migration ") and " failed: " in last, err
    assert "block migration is required" in last
    assert out == ""


def test_migrate_confirm_then_resize_revert(env):
    server = boot(env, "cli-cold")
    source = server["OS-EXT-SRV-ATTR:host"]
    out, err = vmctl(env, "server", "migrate", "cli-cold", "--wait")
    assert "server cli-cold: RESIZE (resize_prep)" in err
    assert out.startswith("migrated cli-cold: VERIFY_RESIZE on ")
    moved_to = out.split()[-1]
    assert moved_to != source
    out, _ = vmctl(env, "server", "confirm-resize", "cli-cold", "--wait")
    assert out == "confirmed cli-cold: ACTIVE on %s\n" % moved_to
    out, err = vmctl(env, "server", "resize", "cli-cold", "m1.small", "--wait")
    assert out.startswith("resized cli-cold: VERIFY_RESIZE")
    out, err = vmctl(env, "server", "revert-resize", "cli-cold", "--wait")
    assert "REVERT_RESIZE (resize_reverting)" in err
    assert out == "reverted cli-cold: ACTIVE on %s\n" % moved_to
    shown = vmctl_json(env, "server", "show", "cli-cold")
    assert shown["flavor"]["original_name"] == "m1.tiny"
    kinds = [(m["Type"], m["Status"]) for m in vmctl_json(env, "migration", "list",
                                                          "--server", "cli-cold")]
    assert kinds == [("resize", "reverted"), ("migration", "confirmed")]


def test_migration_show_abort_and_force_complete(env):
    flavor = vmctl_json(env, "flavor", "create", "cli-stuck", "--ram", "512", "--disk", "1",
                        *[arg for key, value in STUCK.items()
                          for arg in ("--property", "%s=%s" % (key, value))])
    assert flavor["extra_specs"]["migration:policy"] == "steps"
    for name in ("cli-abort", "cli-force"):
        vmctl(env, "server", "create", name, "--flavor", "cli-stuck", "--image", "img",
              "--property", "fake_dirty_rate_mib=200", "--wait")
        out, _ = vmctl(env, "server", "live-migrate", name)
        assert out.startswith("Live migration of %s requested" % name)
    running = wait_migration(env, "cli-abort", ("running",))
    shown = vmctl_json(env, "migration", "show", "cli-abort", str(running["ID"]))
    assert shown["memory_total_bytes"] == 512 * 1024 * 1024 and shown["status"] == "running"
    vmctl(env, "migration", "abort", "cli-abort", str(running["ID"]))
    assert wait_migration(env, "cli-abort", ("cancelled", "completed"))["Status"] == \
        "cancelled"
    forced = wait_migration(env, "cli-force", ("running",))
    vmctl(env, "migration", "force-complete", "cli-force", forced["UUID"])
    assert wait_migration(env, "cli-force", ("completed", "failed", "cancelled"))[
        "Status"] == "completed"
    out, err = vmctl(env, "migration", "abort", "cli-force", str(forced["ID"]), expect=1)
    assert err.startswith("vmctl: error: ") and err.count("\n") == 1


def test_host_list_disable_enable(env):
    listed = vmctl_json(env, "host", "list")
    assert [h["Host"] for h in listed] == list(HOSTS)
    assert all(h["State"] == "up" and h["vCPUs Used/Total"] for h in listed)
    vmctl(env, "host", "disable", "compute3", "--reason", "cli test")
    [row] = [h for h in vmctl_json(env, "host", "list") if h["Host"] == "compute3"]
    assert (row["Status"], row["Disabled Reason"]) == ("disabled", "cli test")
    out, _ = vmctl(env, "host", "list", "-f", "value", "-c", "Host", "-c", "Status")
    assert "compute3 disabled" in out.splitlines()
    vmctl(env, "host", "enable", "compute3")
    [row] = [h for h in vmctl_json(env, "host", "list") if h["Host"] == "compute3"]
    assert row["Status"] == "enabled"


def test_force_down_and_evacuate(env, cli_cloud):
    server = boot(env, "cli-evacuate")
    source = server["OS-EXT-SRV-ATTR:host"]
    cli_cloud.stop_compute(source)
    try:
        vmctl(env, "host", "force-down", source)
        [row] = [h for h in vmctl_json(env, "host", "list") if h["Host"] == source]
        assert (row["Forced Down"], row["State"]) == (True, "down")
        out, err = vmctl(env, "server", "evacuate", "cli-evacuate", "--wait")
        assert "server cli-evacuate: REBUILD (rebuilding)" in err
        assert out.startswith("evacuated cli-evacuate: ACTIVE on ")
        assert out.split()[-1] != source
    finally:
        vmctl(env, "host", "force-down", source, "--unset")
        cli_cloud.start_compute(source)
    # The returning host removes its stale copy and completes the evacuation.
    deadline = time.monotonic() + 60
    while vmctl_json(env, "migration", "list", "--server", "cli-evacuate", "--type",
                     "evacuation")[0]["Status"] != "completed":
        assert time.monotonic() < deadline, "the evacuation never completed"
        time.sleep(0.5)


def test_image_upload_with_progress(env, tmp_path):
    path = tmp_path / "disk.raw"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    out, err = vmctl(env, "image", "upload", str(path), "--name", "cli-image",
                     "--disk-format", "raw", "-f", "json")
    image = json.loads(out)
    assert (image["status"], image["size"], image["name"]) == ("active",
                                                             3 * 1024 * 1024 + 17,
                                                             "cli-image")
    progress = [line for line in err.splitlines() if line.startswith("upload cli-image: ")]
    assert progress[0].startswith("upload cli-image: 0%") and len(progress) >= 3, err
    assert progress[-1] == "upload cli-image: 100% 3.0 MiB of 3.0 MiB"
    out, _ = vmctl(env, "image", "list", "-f", "value", "-c", "Name", "-c", "Status")
    assert "cli-image active" in out.splitlines()
    booted = boot(env, "cli-from-image", "--image", "cli-image")
    assert booted["image"]["id"] == image["id"]
    vmctl(env, "image", "delete", "cli-image")
    assert "cli-image" not in vmctl(env, "image", "list")[0]


def test_errors_are_one_line(env):
    boot(env, "cli-errors")
    out, err = vmctl(env, "server", "create", "x", "--flavor", "no-such-flavor", "--image",
                     "img", expect=1)
    assert err == "vmctl: error: no flavor named or with id 'no-such-flavor' (see " \
                  "'vmctl flavor list')\n"
    _, err = vmctl(env, "server", "resize", "cli-errors", "m1.tiny", expect=1)
    assert err.startswith("vmctl: error: Invalid flavorRef") and err.endswith("(HTTP 400)\n")
    assert err.count("\n") == 1
    _, err = vmctl(env, "server", "show", "00000000-0000-0000-0000-000000000000", expect=1)
    assert err.endswith("could not be found. (HTTP 404)\n") and err.count("\n") == 1
    _, err = vmctl(env, "server", "teleport", "cli-errors", expect=2)
    assert "No such command" in err
    _, err = vmctl(env, "--os-cloud", "missing", "server", "list", expect=1)
    assert err.startswith("vmctl: error: cloud 'missing' is not in ")


# --- password auth through the embedded identity service --------------------------------

def _has_identity():
    import inspect

    from tests.fixtures.cloud import LocalCloud

    return "auth" in inspect.signature(LocalCloud).parameters


@pytest.fixture(scope="module")
def identity_cloud(cloud_factory):
    if not _has_identity():
        pytest.skip("LocalCloud has no auth='vmctl' (embedded identity) yet")
    return cloud_factory("cli-identity", computes=1, auth="vmctl")


def _password_env(cloud, folder, user, password, project, auth_url):
    path = folder / ("clouds-%s.yaml" % user)
    path.write_text("clouds:\n  lab:\n    auth_type: password\n    region_name: RegionOne\n"
                    "    auth:\n      auth_url: %s\n      username: %s\n"
                    "      password: %s\n      project_name: %s\n"
                    "      user_domain_name: Default\n      project_domain_name: Default\n"
                    % (auth_url, user, password, project))
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("OS_", "VMCTL_"))}
    environ.update({"OS_CLOUD": "lab", "OS_CLIENT_CONFIG_FILE": str(path),
                    "HOME": str(folder)})
    return environ


def test_password_auth_with_the_embedded_identity(identity_cloud, tmp_path):
    base = "http://127.0.0.1:%d/identity" % identity_cloud.api_port
    admin = _password_env(identity_cloud, tmp_path, "admin", identity_cloud.admin_password,
                          "admin", base)  # without /v3: the CLI adds it
    created = boot(admin, "cli-pw")
    assert created["status"] == "ACTIVE"
    out, err = vmctl(admin, "--debug", "server", "list", "-f", "value", "-c", "Name")
    assert out == "cli-pw\n"
    assert identity_cloud.admin_password not in err and "X-Subject-Token" not in err
    assert '"X-Auth-Token": "***"' in err and "POST %s/v3/auth/tokens" % base in err
    alice = identity_cloud.add_user("cli-alice", "cli-proj", roles=["member"])
    member = _password_env(identity_cloud, tmp_path, "cli-alice", alice["password"],
                           "cli-proj", base + "/v3")
    assert "m1.tiny" in vmctl(member, "flavor", "list", "-f", "value", "-c", "Name")[0]
    assert vmctl_json(member, "image", "list") == []  # the catalog's image endpoint
    # Admin-only: one line, the API's refusal.
    _, err = vmctl(member, "host", "list", expect=1)
    assert err.startswith("vmctl: error: ") and "(HTTP 403)" in err and err.count("\n") == 1
    wrong = _password_env(identity_cloud, tmp_path, "cli-alice", "not-the-password",
                          "cli-proj", base)
    _, err = vmctl(wrong, "server", "list", expect=1)
    assert err.startswith("vmctl: error: ") and "(HTTP 401)" in err and err.count("\n") == 1
    identity_cloud.delete_all_servers()
