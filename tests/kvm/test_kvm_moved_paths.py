"""Regression (issue 11, bug 2): a live-migrated guest keeps no path of the source.

The lab's hosts keep instances and cached images in different folders
(``workdir/hosts/<host>/...``), as devstack's do. A guest is live-migrated
h1 -> h2; on h2 both its running and its persistent domain definitions must
name only h2's files: the console log in h2's instance folder (where the
heartbeat goes on), no path of h1's instance folder or image cache. Before
the fix the persistent definition kept h1's paths, the source removed its
folder, and the next start of the guest from that definition (a cold
migration's revert) failed with "Unable to open file:
.../hosts/h1/instances/<id>/console.log", leaving the server in ERROR.

Then the guest is cold-migrated back to h1 and the move reverted (h2
restores the definition it saved), cold-migrated again and confirmed: the
guest runs, healthy, on h1. The kvm fixtures check DESIGN.md's invariants
after the test.
"""

import os
import time
import xml.etree.ElementTree as ET

from tests.kvm.test_kvm_cold_migration import _act
from tests.kvm.test_kvm_cold_migration import _wait_settled
from vmctl.virt.libvirt import guest as libvirt_guest
from vmctl.virt.libvirt import live_job as lm

MOVE_TIMEOUT = 240


def _migrations(env, server_id, kind):
    resp = env.api.get("os-migrations", params={"instance_uuid": server_id,
                                                "migration_type": kind})
    assert resp.status_code == 200, resp.text
    return resp.json()["migrations"]


def _wait_migration(env, server_id, kind, statuses, known=()):
    deadline = time.monotonic() + MOVE_TIMEOUT
    while True:
        found = [m for m in _migrations(env, server_id, kind) if m["id"] not in known]
        if found:
            latest = max(found, key=lambda m: m["id"])
            if latest["status"] in statuses:
                return latest
        assert time.monotonic() < deadline, (server_id, kind, found)
        time.sleep(0.3)


# A live migration is completed when the guest runs on the destination; the
# source undefines its stopped copy after that (doc/live-migration.md), as
# LocalCloud.settled_violations allows for.
SOURCE_CLEANUP_SECONDS = 30


def _runs_only_on(env, server_id, host):
    assert env.lab.domain_state(host, server_id) == libvirt_guest.VIR_DOMAIN_RUNNING, (
        host, env.lab.domains(host))
    deadline = time.monotonic() + SOURCE_CLEANUP_SECONDS
    for other in env.lab.names():
        if other == host:
            continue
        while env.lab.domain_state(other, server_id) is not None:
            assert time.monotonic() < deadline, (other, env.lab.domains(other))
            time.sleep(0.5)


def _definitions(env, host, server_id):
    dom = env.lab.conn(host).lookupByUUIDString(server_id)
    return {"live": dom.XMLDesc(0), "persistent": dom.XMLDesc(lm.VIR_DOMAIN_XML_INACTIVE)}


def _console_path(xml):
    return ET.fromstring(xml).find("./devices/serial/source").get("path")


def _assert_only_own_paths(env, host, server_id):
    cloud = env.cloud
    others = [p for h in env.lab.names() if h != host
              for p in (cloud.instances_path(h), cloud.image_cache_path(h))]
    for which, xml in _definitions(env, host, server_id).items():
        for prefix in others:
            assert prefix not in xml, "the %s definition on %s names %s:\n%s" % (
                which, host, prefix, xml)
        assert _console_path(xml) == os.path.join(cloud.instance_dir(host, server_id),
                                                  "console.log"), (which, xml)


def test_live_migrated_guest_names_only_the_destinations_files(kvm_env):
    env = kvm_env
    cloud = env.cloud
    assert cloud.instances_path("h1") != cloud.instances_path("h2")
    # No availability zone: the guest must be free to move back.
    server = env.api.create_server("paths", flavor=env.flavor["id"], image=env.image_id)
    env._servers.setdefault(env.current_test, []).append(server["id"])
    sid = server["id"]
    server = env.api.wait_for_status(sid, "ACTIVE", timeout=120)
    first = env.wait_heartbeat(sid, boot=1)
    source = env.host_of(server)
    dest = next(h for h in env.lab.names() if h != source)

    # Live migration source -> dest.
    _act(env, sid, {"os-migrateLive": {"host": dest, "block_migration": "auto"}})
    done = _wait_migration(env, sid, "live-migration", ("completed", "failed", "error",
                                                         "cancelled"))
    assert done["status"] == "completed", done
    server = _wait_settled(env, sid, "ACTIVE")
    assert env.host_of(server) == dest
    _runs_only_on(env, sid, dest)
    _assert_only_own_paths(env, dest, sid)
    # The heartbeat goes on, written to the destination's console log (which
    # starts at the migration: no BOOT line in it).
    beat = env.wait_heartbeat(sid, after_seq=first.seq)
    assert beat.boots == [], beat.summary()
    dest_log = os.path.join(cloud.instance_dir(dest, sid), "console.log")
    size = os.path.getsize(dest_log)
    env.wait_heartbeat(sid, after_seq=beat.seq + 3)
    assert os.path.getsize(dest_log) > size
    assert not os.path.exists(cloud.instance_dir(source, sid))

    # Cold migration back, reverted: dest restores the definition it kept.
    known = {m["id"] for m in _migrations(env, sid, "migration")}
    _act(env, sid, {"migrate": None})
    server = _wait_settled(env, sid, "VERIFY_RESIZE")
    assert env.host_of(server) == source
    env.wait_heartbeat(sid, boot=2)
    _act(env, sid, {"revertResize": None})
    server = _wait_settled(env, sid, "ACTIVE")
    assert env.host_of(server) == dest, server
    assert _wait_migration(env, sid, "migration", ("reverted",), known)["status"] == "reverted"
    _runs_only_on(env, sid, dest)
    _assert_only_own_paths(env, dest, sid)
    env.wait_heartbeat(sid, boot=2)

    # Cold migration back, confirmed: the guest runs, healthy, on the first host.
    known = {m["id"] for m in _migrations(env, sid, "migration")}
    _act(env, sid, {"migrate": None})
    server = _wait_settled(env, sid, "VERIFY_RESIZE")
    assert env.host_of(server) == source
    _act(env, sid, {"confirmResize": None}, code=204)
    server = _wait_settled(env, sid, "ACTIVE")
    assert env.host_of(server) == source
    assert _wait_migration(env, sid, "migration", ("confirmed",), known)["status"] == \
        "confirmed"
    _runs_only_on(env, sid, source)
    _assert_only_own_paths(env, source, sid)
    assert not os.path.exists(cloud.instance_dir(dest, sid))
    env.wait_heartbeat(sid, boot=3)
