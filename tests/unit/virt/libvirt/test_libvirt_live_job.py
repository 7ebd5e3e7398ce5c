"""Live migration on libvirt: flags, params, paths, checks and job status
transitions, with fake domains (no libvirt needed)."""

import os
import threading
import types
import uuid

import pytest

from vmctl.compute.live_migration import config as policy_config
from vmctl.virt import driver as virt_driver
from vmctl.virt import live_job as job_stats
from vmctl.virt.libvirt import guests as libvirt_guests
from vmctl.virt.libvirt import instance_files
from vmctl.virt.libvirt import live_job as lm
from vmctl.virt.libvirt import live_migration as lvm

P = policy_config.MigrationPolicy
BASE = lm.VIR_MIGRATE_LIVE | lm.VIR_MIGRATE_PEER2PEER | lm.VIR_MIGRATE_PERSIST_DEST | \
    lm.VIR_MIGRATE_UNDEFINE_SOURCE


# --- flags, params, paths --------------------------------------------------------------
@pytest.mark.parametrize("policy, block, shared, extra", [
    (P(), False, True, lm.VIR_MIGRATE_UNSAFE),
    (P(), True, False, lm.VIR_MIGRATE_NON_SHARED_INC),
    (P(), False, False, 0),
    (P(permit_post_copy=True), False, True, lm.VIR_MIGRATE_UNSAFE | lm.VIR_MIGRATE_POSTCOPY),
    (P(permit_auto_converge=True), True, False,
     lm.VIR_MIGRATE_NON_SHARED_INC | lm.VIR_MIGRATE_AUTO_CONVERGE),
])
def test_flags(policy, block, shared, extra):
    assert lm.migration_flags(policy, block, shared) == BASE | extra


def test_flags_match_libvirt():
    libvirt = pytest.importorskip("libvirt")
    assert BASE == (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
                    | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
    assert (lm.VIR_MIGRATE_UNSAFE, lm.VIR_MIGRATE_NON_SHARED_INC, lm.VIR_MIGRATE_POSTCOPY,
            lm.VIR_MIGRATE_AUTO_CONVERGE) == (
        libvirt.VIR_MIGRATE_UNSAFE, libvirt.VIR_MIGRATE_NON_SHARED_INC,
        libvirt.VIR_MIGRATE_POSTCOPY, libvirt.VIR_MIGRATE_AUTO_CONVERGE)
    assert (lm.PARAM_URI, lm.PARAM_BANDWIDTH, lm.PARAM_DEST_XML, lm.PARAM_PERSIST_XML,
            lm.PARAM_AUTO_CONVERGE_INITIAL, lm.PARAM_AUTO_CONVERGE_INCREMENT) == (
        libvirt.VIR_MIGRATE_PARAM_URI, libvirt.VIR_MIGRATE_PARAM_BANDWIDTH,
        libvirt.VIR_MIGRATE_PARAM_DEST_XML, libvirt.VIR_MIGRATE_PARAM_PERSIST_XML,
        libvirt.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL,
        libvirt.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT)
    assert (lm.VIR_DOMAIN_XML_INACTIVE, lm.VIR_DOMAIN_XML_MIGRATABLE) == (
        libvirt.VIR_DOMAIN_XML_INACTIVE, libvirt.VIR_DOMAIN_XML_MIGRATABLE)
    assert lm.VIR_ERR_OPERATION_ABORTED == libvirt.VIR_ERR_OPERATION_ABORTED
    assert lm.VIR_DOMAIN_PAUSED_POSTCOPY == libvirt.VIR_DOMAIN_PAUSED_POSTCOPY


def test_params():
    dest = {"uri": "qemu+tcp://10.0.0.2/system", "migrate_uri": "tcp://10.0.0.2"}
    assert lm.migration_params(dest, P()) == {"migrate_uri": "tcp://10.0.0.2"}
    assert lm.migration_params(dest, P(bandwidth_mib=30, permit_auto_converge=True,
                                       auto_converge_initial=15, auto_converge_increment=5),
                               dest_xml="<domain/>", persist_xml="<domain>p</domain>") == {
        "migrate_uri": "tcp://10.0.0.2", "bandwidth": 30, "auto_converge.initial": 15,
        "auto_converge.increment": 5, "destination_xml": "<domain/>",
        "persistent_xml": "<domain>p</domain>"}


class Err(Exception):
    def __init__(self, code, message="boom"):
        super().__init__(message)
        self.code = code
        self.message = message

    def get_error_code(self):
        return self.code

    def get_error_message(self):
        return self.message


def test_outcome_of():
    assert lm.outcome_of(Err(lm.VIR_ERR_OPERATION_ABORTED, "operation aborted"), False) == (
        "cancelled", "the migration was aborted: operation aborted")
    assert lm.outcome_of(Err(1, "internal"), True)[0] == "cancelled"
    assert lm.outcome_of(Err(1, "no route"), False) == ("failed", "libvirt: no route")


# --- destination checks ------------------------------------------------------------------
MINE = {"hypervisor_type": "QEMU", "hypervisor_version": 10000002, "cpu_arch": "x86_64",
        "storage_id": "s-dest"}


@pytest.mark.parametrize("theirs, block, expected", [
    ({"hypervisor_type": "KVM"}, "auto", (False, "hypervisor type KVM differs", False)),
    ({"hypervisor_version": 10000003}, "auto", (False, "is newer", False)),
    ({"cpu_arch": "aarch64"}, "auto", (False, "CPU architecture aarch64", False)),
    ({}, False, (False, "block migration is required", False)),
    ({"storage_id": "s-dest"}, True, (False, "block migration is not possible", True)),
    ({"storage_id": "s-dest"}, "auto", (True, None, True)),
    ({"storage_id": "s-dest"}, False, (True, None, True)),
    ({}, "auto", (True, None, False)),
    ({"disk_bytes": 2 << 30}, True, (False, "needs 2048 MiB free", False)),
])
def test_destination_check(theirs, block, expected):
    source = dict(MINE, storage_id="s-src", **{})
    source.update(theirs)
    ok, reason, shared = lvm.destination_check(MINE, source, block, free_bytes=1 << 30)
    assert (ok, shared) == (expected[0], expected[2])
    if expected[1] is None:
        assert reason is None
    else:
        assert expected[1] in reason


def test_storage_id_is_shared_through_the_folder(tmp_path):
    first = instance_files.storage_id(str(tmp_path / "inst"))
    assert instance_files.storage_id(str(tmp_path / "inst")) == first
    assert instance_files.storage_id(str(tmp_path / "other")) != first
    assert os.listdir(tmp_path / "inst") == [instance_files.STORAGE_ID_FILE]


def test_host_arch():
    caps = "<capabilities><host><cpu><arch>x86_64</arch><model>qemu64</model></cpu></host>" \
        "</capabilities>"
    assert lvm.host_arch(caps) == "x86_64" and lvm.host_cpu_model(caps) == "qemu64"


# --- the job with a fake domain ------------------------------------------------------------
RUNNING_STATS = {"type": job_stats.JOB_UNBOUNDED, "time_elapsed": 1200,
                 "memory_total": 128 << 20, "memory_processed": 64 << 20,
                 "memory_remaining": 64 << 20, "memory_dirty_rate": 256,
                 "memory_page_size": 4096, "memory_iteration": 2}


class FakeDom:
    def __init__(self):
        self.calls = []
        self.state_ = (lm.VIR_DOMAIN_RUNNING, 1)
        self.job = (job_stats.JOB_NONE,)
        self.stats = {}
        self.release = threading.Event()
        self.migrate_error = None
        self.gone = False

    def jobInfo(self):
        return self.job

    def jobStats(self):
        return self.stats

    def state(self):
        return self.state_

    def migrateToURI3(self, dconnuri, params, flags):
        self.calls.append(("migrateToURI3", dconnuri, params, flags))
        self.job = (job_stats.JOB_UNBOUNDED,)
        self.stats = dict(RUNNING_STATS)
        assert self.release.wait(5)
        self.job = (job_stats.JOB_NONE,)
        if self.migrate_error:
            raise self.migrate_error
        self.gone = True

    def migrateSetMaxDowntime(self, ms, flags):
        self.calls.append(("downtime", ms))

    def migrateStartPostCopy(self, flags):
        self.calls.append(("postcopy",))
        self.state_ = (lm.VIR_DOMAIN_PAUSED, lm.VIR_DOMAIN_PAUSED_POSTCOPY)

    def suspend(self):
        self.calls.append(("suspend",))
        self.state_ = (lm.VIR_DOMAIN_PAUSED, 1)

    def resume(self):
        self.calls.append(("resume",))
        self.state_ = (lm.VIR_DOMAIN_RUNNING, 1)

    def abortJob(self):
        self.calls.append(("abort",))
        self.migrate_error = Err(lm.VIR_ERR_OPERATION_ABORTED, "operation aborted")
        self.release.set()


class FakeConn:
    def __init__(self, dom):
        self.dom = dom
        self.closed = False

    def lookupByUUIDString(self, u):
        return self.dom

    def close(self):
        self.closed = True


def _job(dom, flags=BASE):
    conns = []

    def open_conn():
        conns.append(FakeConn(dom))
        return conns[-1]
    job = lm.LibvirtMigrationJob(open_conn, "u-1", "qemu+tcp://h2/system",
                                 {"migrate_uri": "tcp://h2"}, flags,
                                 lambda: None if dom.gone else dom, disk_sizes=(5,),
                                 call_timeout=2)
    return job.start(start_timeout=5, poll=0.01), conns


def test_job_completes_on_its_own_connection():
    dom = FakeDom()
    job, conns = _job(dom)
    assert job.status == "running" and job.disk_sizes() == (5,)
    stats = job.stats()
    assert stats.memory_iteration == 2 and stats.memory_dirty_rate == 256 * 4096
    assert not stats.postcopy
    job.set_max_downtime(300)
    assert ("downtime", 300) in dom.calls
    dom.release.set()
    job.join(5)
    assert (job.status, job.reason) == ("completed", None)
    assert conns[0].closed and dom.calls[0][1:] == ("qemu+tcp://h2/system",
                                                  {"migrate_uri": "tcp://h2"}, BASE)
    final = job.stats()            # the domain is gone: the last stats, completed
    assert final.job_type == job_stats.JOB_COMPLETED and final.memory_iteration == 2
    job.set_max_downtime(500)      # a no-op once the job is over


def test_job_abort_is_cancelled_and_failure_failed():
    dom = FakeDom()
    job, _ = _job(dom)
    job.abort()
    job.join(5)
    assert job.status == "cancelled" and "operation aborted" in job.reason
    dom = FakeDom()
    dom.migrate_error = Err(1, "unable to connect to server")
    job, _ = _job(dom)
    dom.release.set()
    job.join(5)
    assert (job.status, job.reason) == ("failed", "libvirt: unable to connect to server")


def test_postcopy_pause_and_throttle():
    dom = FakeDom()
    job, _ = _job(dom)
    with pytest.raises(virt_driver.VirtError, match="post-copy was not permitted"):
        job.start_postcopy()
    job.throttle(30)                               # no auto-converge: logged, ignored
    assert job.throttle_requests == [30]
    job.pause()
    job.unpause()
    assert [c[0] for c in dom.calls[1:]] == ["suspend", "resume"]
    dom.release.set()
    job.join(5)

    dom = FakeDom()
    job, _ = _job(dom, BASE | lm.VIR_MIGRATE_POSTCOPY)
    job.start_postcopy()
    assert job.stats().postcopy
    with pytest.raises(virt_driver.VirtError, match="cannot be aborted"):
        job.abort()
    job.unpause()                                  # never resumes a post-copy pause
    assert ("resume",) not in dom.calls
    dom.release.set()
    job.join(5)
    assert job.status == "completed"


def test_postcopy_seen_from_the_domain_state():
    dom = FakeDom()
    job, _ = _job(dom)
    dom.state_ = (lm.VIR_DOMAIN_PAUSED, lm.VIR_DOMAIN_PAUSED_POSTCOPY)
    assert job.stats().postcopy and job.postcopy
    dom.release.set()
    job.join(5)


def test_stats_while_the_source_stopped_are_the_last_ones():
    dom = FakeDom()
    job, _ = _job(dom)
    first = job.stats()

    def not_running():
        raise Err(lm.VIR_ERR_OPERATION_INVALID, "domain is not running")
    dom.jobStats = not_running
    assert job.stats() is first
    dom.release.set()
    job.join(5)


def test_hung_call_is_bounded():
    dom = FakeDom()
    job, _ = _job(dom)
    job.call_timeout = 0.05
    dom.jobStats = lambda: threading.Event().wait(1)
    with pytest.raises(lm.JobCallTimeout):
        job.stats()
    dom.release.set()
    job.join(5)


# --- adopted jobs --------------------------------------------------------------------------
def _adopted(dom):
    return lm.AdoptedMigrationJob(lambda: None if dom.gone else dom, {"uuid": "m-1"},
                                  flags=BASE, call_timeout=2)


def test_adopted_job_completes_when_the_domain_leaves():
    dom = FakeDom()
    dom.job = (job_stats.JOB_UNBOUNDED,)
    dom.stats = dict(RUNNING_STATS)
    job = _adopted(dom)
    assert job.status == "running" and job.stats().memory_iteration == 2
    dom.gone = True
    assert job.status == "completed"
    assert job.stats().job_type == job_stats.JOB_COMPLETED
    dom.gone = False                       # settled once and for all
    assert job.status == "completed"


@pytest.mark.parametrize("abort, expected", [(False, "failed"), (True, "cancelled")])
def test_adopted_job_ending_with_the_guest_here(abort, expected):
    dom = FakeDom()
    dom.job = (job_stats.JOB_UNBOUNDED,)
    job = _adopted(dom)
    if abort:
        dom.abortJob = lambda: None
        job.abort()
    dom.job = (job_stats.JOB_NONE,)
    assert job.status == expected


def test_is_outgoing_migration():
    active = (job_stats.JOB_UNBOUNDED,)
    assert lm.is_outgoing_migration(active, {"operation": lm.JOB_OPERATION_MIGRATION_OUT})
    assert lm.is_outgoing_migration(active, {})
    assert not lm.is_outgoing_migration(active, {"operation": 1})
    assert not lm.is_outgoing_migration((job_stats.JOB_NONE,), {})


# --- the driver's files (fake host) ---------------------------------------------------------
class Guest:
    def __init__(self, dom, active=True):
        self.domain = dom
        self.active = active
        self.calls = []

    def is_active(self):
        return self.active

    def destroy(self):
        self.calls.append("destroy")

    def undefine(self):
        self.calls.append("undefine")


def _driver(tmp_path, guest=None):
    """The live migrator of host h9, its domain ``guest`` (or none)."""
    lconf = types.SimpleNamespace(
        instances_path=str(tmp_path / "instances"), image_cache_path=str(tmp_path / "_base"),
        migration_uri="", host_ip="10.0.0.9")
    host = types.SimpleNamespace(lookup=lambda u: guest, invalidate=lambda: None)
    files = instance_files.InstanceFiles(lconf.instances_path, nodename="h9")
    return lvm.LiveMigrator(types.SimpleNamespace(libvirt=lconf), host,
                            libvirt_guests.Guests(host, files, lconf), images=None, files=files)


def _inst_dir(drv, inst, records):
    path = os.path.join(drv.conf.libvirt.instances_path, inst.uuid)
    os.makedirs(path)
    open(os.path.join(path, "disk"), "w").close()
    for name, value in records.items():
        instance_files.write_json(os.path.join(path, name), value)
    return path


def test_post_at_source_removes_the_folder_once(tmp_path):
    inst = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    drv = _driver(tmp_path)
    path = _inst_dir(drv, inst, {lvm.MIGRATION_RECORD: {"shared_storage": False}})
    drv.post_live_migration_at_source(inst)
    assert not os.path.exists(path)
    drv.post_live_migration_at_source(inst)        # idempotent


def test_post_at_source_keeps_a_shared_folder(tmp_path):
    inst = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    drv = _driver(tmp_path)
    path = _inst_dir(drv, inst, {lvm.MIGRATION_RECORD: {"shared_storage": True}})
    drv.post_live_migration_at_source(inst)
    assert os.listdir(path) == ["disk"]


def test_post_at_source_never_touches_a_running_guest(tmp_path):
    inst = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    guest = Guest(FakeDom())
    drv = _driver(tmp_path, guest)
    path = _inst_dir(drv, inst, {lvm.MIGRATION_RECORD: {"shared_storage": False}})
    drv.post_live_migration_at_source(inst)
    assert os.path.exists(path) and guest.calls == []


def _migration(block=True):
    return types.SimpleNamespace(uuid="m-1", block_migration=block)


def test_rollback_removes_only_what_pre_made(tmp_path):
    inst = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    drv = _driver(tmp_path)
    path = _inst_dir(drv, inst, {lvm.INCOMING_RECORD: {"migration": "m-1"}})
    drv.rollback_live_migration_at_destination(inst, _migration(block=False))
    assert os.path.exists(path)                    # shared storage: the source's files
    drv.rollback_live_migration_at_destination(inst, types.SimpleNamespace(
        uuid="m-2", block_migration=True))
    assert os.path.exists(path)                    # another migration's folder
    drv.rollback_live_migration_at_destination(inst, _migration())
    assert not os.path.exists(path)


def test_rollback_leaves_a_running_guest_and_removes_a_failed_incoming_one(tmp_path):
    inst = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    dom = FakeDom()
    guest = Guest(dom)
    drv = _driver(tmp_path, guest)
    path = _inst_dir(drv, inst, {lvm.INCOMING_RECORD: {"migration": "m-1"}})
    drv.rollback_live_migration_at_destination(inst, _migration())
    assert guest.calls == [] and os.path.exists(path)
    dom.state_ = (lm.VIR_DOMAIN_PAUSED, lvm.VIR_DOMAIN_PAUSED_MIGRATION)
    drv.rollback_live_migration_at_destination(inst, _migration())
    assert guest.calls == ["destroy", "undefine"] and not os.path.exists(path)


def test_adopt_needs_a_record_and_an_outgoing_job(tmp_path):
    inst = types.SimpleNamespace(uuid=str(uuid.uuid4()))
    dom = FakeDom()
    drv = _driver(tmp_path, Guest(dom))
    _inst_dir(drv, inst, {})
    assert drv.adopt_live_migration(inst) is None          # no record
    instance_files.write_json(os.path.join(drv.conf.libvirt.instances_path, inst.uuid,
                                lvm.MIGRATION_RECORD), {"uuid": "m-1", "flags": BASE,
                                                        "dest_compute": "h2"})
    assert drv.adopt_live_migration(inst) is None          # no job
    dom.job = (job_stats.JOB_UNBOUNDED,)
    dom.stats = dict(RUNNING_STATS, operation=lm.JOB_OPERATION_MIGRATION_OUT)
    job = drv.adopt_live_migration(inst)
    assert job.migration["dest_compute"] == "h2" and job.status == "running"
