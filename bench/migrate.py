#!/usr/bin/env python3
"""Control-plane benchmark of live migration on the fake driver.

Workload (issue 4): 4 fake computes; one server; 20 sequential live
migrations, each timed from POST os-migrateLive to the migration's status
``completed``. Prints one JSON object:

  live_p50_ms, live_p95_ms       POST -> completed
  cpu_s_per_live_migration       CPU seconds (utime+stime, from /proc) of
                                 every vmctl daemon during the 20, / 20

The fake driver models the hypervisor job (a 512 MiB idle guest over a
1000 MiB/s link, 20x faster than real time), so the figures are the
control plane's: API, conductor, scheduler, both computes, RabbitMQ and the
database. Run on purpose, never in the tests:

    .venv/bin/python bench/migrate.py [--db sqlite|mysql|postgresql] [--count 20]

``--convergence``: the convergence policies on real guests instead (root,
the kvm lab: tests/fixtures/kvm.py, doc/kvm-lab.md). Its own lab and cloud
(two libvirt computes); for each guest dirty rate (an image whose kernel
command line sets ``vmctl.dirty_rate``) one 128 MiB guest, migrated back
and forth, once per (bandwidth limit, policy): ``steps`` with Nova's
defaults and ``adaptive`` (``--policies`` adds e.g. ``adaptive+postcopy``).
The policy and the bandwidth are the source compute's ``[migration]``
options (the agent is restarted when they change). A migration still
running after ``--max-run`` s is aborted by the benchmark (DELETE) and
reported as such: ``steps`` would go on until its completion timeout
(800 s/GiB). One JSON object, key ``convergence`` (a list of rows):

  dirty_mib_s, dirty_set_mib, bandwidth_mib_s, policy, outcome
  (completed | cancelled | failed | aborted_by_bench), total_s (POST ->
  the migration's end), job_s, downtime_ms_job (libvirt's completed job
  statistics: the destination's, or the source's when it stayed there),
  guest_gap_ms (longest wall-clock silence of the guest's heartbeat during
  the migration), guest_downtime_ms (that minus one heartbeat period),
  bytes (data_processed of the job), lower_bound_s (bytes / bandwidth),
  total_over_bound, job_over_bound, decisions (the policy's events),
  cpu_s (CPU seconds of the vmctl daemons, utime+stime from /proc, POST ->
  the migration's end: the control plane's share, not QEMU's or libvirtd's)

and ``convergence_summary``: the issue's targets checked on those rows.

    .venv/bin/python bench/migrate.py --convergence [--dirty 4,16,64]
        [--bandwidth 16,32,64] [--policies steps,adaptive] [--max-run 40]
        [--cases 4/32,4/64,16/64]

``--cases`` keeps only those (dirty rate / bandwidth) pairs of the matrix.
"""

import argparse
import json
import os
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import boot as boot_bench  # noqa: E402  (shared /proc readings and the cloud)

MIGRATE = {"os-migrateLive": {"host": None, "block_migration": "auto"}}


def migrate_once(api, server_id, timeout=30):
    started = time.monotonic()
    resp = api.post("servers/%s/action" % server_id, json=MIGRATE)
    if resp.status_code != 202:
        raise RuntimeError("os-migrateLive: %s %s" % (resp.status_code, resp.text))
    deadline = started + timeout
    while time.monotonic() < deadline:
        found = api.get("os-migrations?instance_uuid=%s&limit=1" % server_id).json()
        latest = found["migrations"][0]
        if latest["status"] in ("completed", "failed", "cancelled", "error"):
            if latest["status"] != "completed":
                raise RuntimeError("migration ended %s" % latest["status"])
            elapsed = time.monotonic() - started
            api.wait_for_status(server_id, "ACTIVE")
            return elapsed
        time.sleep(0.02)
    raise RuntimeError("migration of %s did not end in %ss" % (server_id, timeout))


def measure_moves(args, workdir, name, move_once, microversion="2.80"):
    """One server on 4 fake computes; ``args.count`` sequential moves by
    ``move_once(api, server_id) -> seconds``, after ``args.warmup`` warm-up
    moves (by default one per compute: each agent's first move as source or
    destination imports and connects what later moves reuse).
    ``<name>_p50_ms``, ``<name>_p95_ms`` and the daemons' CPU seconds per
    move (``cpu``), with the samples and the machine's context."""
    hosts = ["compute%d" % n for n in range(1, 5)]
    cloud = boot_bench.LocalCloud(
        workdir, computes=hosts, db_url=boot_bench.db_url(args.db),
        compute_conf={h: {"fake": dict(boot_bench.FAKE_HOST)} for h in hosts},
        conf_overrides=boot_bench.CONF_OVERRIDES)
    cloud.start()
    try:
        api = cloud.api(microversion=microversion)
        server = api.wait_for_status(api.create_server("bench-%s" % name)["id"], "ACTIVE")
        for _ in range(len(hosts) if args.warmup is None else args.warmup):
            move_once(api, server["id"])
        pids = cloud.pids()
        before = boot_bench.cpu_by_daemon(pids)
        times = [move_once(api, server["id"]) for _ in range(args.count)]
        after = boot_bench.cpu_by_daemon(pids)
    finally:
        cloud.stop()
    per_daemon = {d: round((after[d] - before[d]) / args.count, 4) for d in sorted(pids)}
    return {
        "%s_p50_ms" % name: round(boot_bench.percentile(times, 50) * 1000, 1),
        "%s_p95_ms" % name: round(boot_bench.percentile(times, 95) * 1000, 1),
        "cpu": round((sum(after.values()) - sum(before.values())) / args.count, 4),
        "cpu_s_by_daemon": per_daemon,
        "count": args.count, "warmup": len(hosts) if args.warmup is None else args.warmup,
        "db": args.db,
        "samples_ms": [round(t * 1000, 1) for t in times],
        **boot_bench.context(),
    }


def run(args, workdir):
    result = measure_moves(args, workdir, "live", migrate_once)
    result["cpu_s_per_live_migration"] = result.pop("cpu")
    return result


# --- convergence on real guests ------------------------------------------------------

REPO = os.path.dirname(BENCH)
HB_MS = 200                         # the guest's heartbeat period (guest/README.md)
MAX_DOWNTIME_MS = 500               # [migration] max_downtime_ms, both policies (default)
TERMINAL = ("completed", "failed", "cancelled", "error")
# The source compute's [migration] options for each policy; the rest stays
# at the defaults, which are Nova's for 'steps' (500 ms in 10 steps, 75 s/GiB
# between steps, 800 s/GiB completion timeout, abort, no post-copy).
POLICY_CONF = {
    "steps": {"policy": "steps", "permit_post_copy": False, "permit_auto_converge": False},
    "adaptive": {"policy": "adaptive", "permit_post_copy": False,
                 "permit_auto_converge": False},
    "adaptive+postcopy": {"policy": "adaptive", "permit_post_copy": True,
                          "permit_auto_converge": False},
    "adaptive+autoconverge": {"policy": "adaptive", "permit_post_copy": False,
                              "permit_auto_converge": True},
}


def progress(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def _ints(text):
    return [int(x) for x in text.split(",") if x.strip()]


def _cases(text):
    """'4/32,16/64' -> {(4, 32), (16, 64)}; None (every pair) when empty."""
    if not text:
        return None
    try:
        return {tuple(int(v) for v in pair.split("/")) for pair in text.split(",")
                if pair.strip()}
    except ValueError:
        raise SystemExit("--cases: pairs of dirty/bandwidth, e.g. 4/32,16/64") from None


class ConvergenceRun:
    """One lab + cloud; guests migrated back and forth between h1 and h2."""

    def __init__(self, args, cloud, lab, kvm):
        self.args = args
        self.cloud = cloud
        self.lab = lab
        self.kvm = kvm
        self.api = cloud.api(microversion="2.88")
        self.applied = {}           # host -> the [migration] options it runs with

    # --- set-up ----------------------------------------------------------------------
    def configure(self, host, policy, bandwidth):
        wanted = dict(POLICY_CONF[policy], bandwidth_mib=bandwidth)
        if self.applied.get(host) == wanted:
            return
        for opt, value in wanted.items():
            self.cloud.set_compute_conf(host, "migration", opt, value)
        self.cloud.restart(host)
        self.applied[host] = wanted

    def boot(self, name, flavor, image):
        # No availability zone (each lab host is one): it could not move.
        server = self.api.create_server(name, flavor=flavor, image=image)
        server = self.api.wait_for_status(server["id"], "ACTIVE", timeout=180)
        watch = self.kvm.HeartbeatWatch(
            lambda: self.kvm.console_paths(self.cloud, server["id"])).start()
        try:
            if not watch.wait_seq(5, timeout=120):
                raise RuntimeError("guest %s never beat: %s" % (server["id"], watch.summary()))
        finally:
            watch.stop()
        return server

    # --- API ---------------------------------------------------------------------------
    def migrations(self, server_id):
        resp = self.api.get("os-migrations", params={"instance_uuid": server_id,
                                                     "migration_type": "live-migration"})
        resp.raise_for_status()
        return resp.json()["migrations"]

    def decisions(self, server_id):
        actions = self.api.get("servers/%s/os-instance-actions" % server_id).json()
        live = [a for a in actions["instanceActions"] if a["action"] == "live-migration"]
        latest = max(live, key=lambda a: a["start_time"])
        action = self.api.get("servers/%s/os-instance-actions/%s" % (
            server_id, latest["request_id"])).json()["instanceAction"]
        return [(e.get("details") or "") for e in action["events"]
                if e["event"] == "live_migration_policy"]

    def job_stats(self, host, server_id):
        """libvirt's statistics of the domain's last completed (or ended) job."""
        try:
            dom = self.lab.conn(host).lookupByUUIDString(server_id)
            return dom.jobStats(1)      # VIR_DOMAIN_JOB_STATS_COMPLETED
        except Exception as exc:
            progress("no completed job statistics on %s: %s" % (host, exc))
            return {}

    def record(self, migration_id):
        """The migration record's last progress figures (the DB: the API shows
        them only while the migration is in progress)."""
        from vmctl.db import models

        with self.cloud.db().reader() as session:
            row = session.get(models.Migration, migration_id)
            return {k: getattr(row, k, None) for k in (
                "memory_total", "memory_processed", "memory_remaining",
                "disk_total", "disk_processed", "disk_remaining")}

    # --- one migration -----------------------------------------------------------------
    def migrate(self, server, dirty, bandwidth, policy):
        sid = server["id"]
        source = self.api.server(sid)["OS-EXT-SRV-ATTR:host"]
        dest = "h2" if source == "h1" else "h1"
        self.configure(source, policy, bandwidth)
        watch = self.kvm.HeartbeatWatch(lambda: self.kvm.console_paths(self.cloud, sid))
        watch.start()
        known = {m["id"] for m in self.migrations(sid)}
        pids = self.cloud.pids()
        cpu_before = sum(boot_bench.cpu_by_daemon(pids).values())
        started = time.monotonic()
        resp = self.api.post("servers/%s/action" % sid, json={
            "os-migrateLive": {"host": dest, "block_migration": "auto"}})
        if resp.status_code != 202:
            raise RuntimeError("os-migrateLive: %s %s" % (resp.status_code, resp.text))
        aborted = False
        migration = None
        while True:
            found = [m for m in self.migrations(sid) if m["id"] not in known]
            migration = found[0] if found else None
            now = time.monotonic()
            if migration and migration["status"] in TERMINAL:
                break
            if now - started > self.args.max_run + 120:
                raise RuntimeError("migration of %s did not end: %s" % (sid, migration))
            if migration and not aborted and now - started > self.args.max_run:
                resp = self.api.delete("servers/%s/migrations/%s" % (sid, migration["id"]))
                aborted = resp.status_code == 202
                progress("  aborting after %.0f s: %s" % (now - started, resp.status_code))
            time.sleep(0.05)
        ended = time.monotonic()
        cpu_s = sum(boot_bench.cpu_by_daemon(pids).values()) - cpu_before
        self.api.wait_for_status(sid, "ACTIVE", timeout=120)
        watch.wait_seq(watch.last_seq + 3, timeout=30)
        watch.stop()
        status = migration["status"]
        here = self.api.server(sid)["OS-EXT-SRV-ATTR:host"]
        stats = self.job_stats(here, sid)
        record = self.record(migration["id"])
        gap, _, _ = watch.max_gap(started, ended)
        moved = (status == "completed")
        job_bytes = int(stats.get("data_processed") or 0) or int(
            (record.get("memory_processed") or 0) + (record.get("disk_processed") or 0))
        job_s = (stats.get("time_elapsed") or 0) / 1000.0
        bound = job_bytes / (bandwidth * 1024 * 1024) if bandwidth else None
        total_s = ended - started
        row = {
            "dirty_mib_s": dirty, "dirty_set_mib": self.args.dirty_mib,
            "bandwidth_mib_s": bandwidth, "policy": policy,
            "outcome": "aborted_by_bench" if aborted and status == "cancelled" else status,
            "source": source, "host_after": here,
            "total_s": round(total_s, 2),
            "job_s": round(job_s, 2) if job_s else None,
            "downtime_ms_job": stats.get("downtime") if moved else None,
            "guest_gap_ms": round(gap * 1000),
            "guest_downtime_ms": max(0, round(gap * 1000) - HB_MS),
            "bytes": job_bytes,
            "memory_iterations": stats.get("memory_iteration"),
            "postcopy_requests": stats.get("memory_postcopy_requests"),
            "lower_bound_s": round(bound, 2) if bound else None,
            "total_over_bound": round(total_s / bound, 2) if bound else None,
            "job_over_bound": round(job_s / bound, 2) if bound and job_s else None,
            "heartbeat_holes": len(watch.holes()), "corrupt": len(watch.corrupt),
            "decisions": [d.split(": ", 1)[0] for d in self.decisions(sid)],
            "cpu_s": round(cpu_s, 2),
        }
        progress("  %s" % json.dumps(row))
        return row


def convergence_summary(rows, policies):
    """The issue's targets, checked on the rows."""
    cases = {}
    for row in rows:
        cases.setdefault((row["dirty_mib_s"], row["bandwidth_mib_s"]), {})[row["policy"]] = row
    missed, over_downtime, converging = [], [], []
    ratios = {"job": [], "total": []}
    for (dirty, bandwidth), by_policy in sorted(cases.items()):
        completed = [p for p, r in by_policy.items() if r["outcome"] == "completed"]
        adaptive = by_policy.get("adaptive")
        if completed and adaptive and adaptive["outcome"] != "completed":
            missed.append([dirty, bandwidth])
        if adaptive and adaptive["outcome"] == "completed" and not any(
                d.startswith(("start_postcopy", "force_complete")) for d in adaptive["decisions"]):
            converging.append([dirty, bandwidth])
            if adaptive["guest_downtime_ms"] > MAX_DOWNTIME_MS:
                over_downtime.append([dirty, bandwidth, adaptive["guest_downtime_ms"]])
            for kind in ratios:
                if adaptive["%s_over_bound" % kind] is not None:
                    ratios[kind].append(adaptive["%s_over_bound" % kind])
    return {
        "policies": policies,
        "cases_completed_by_some_policy": sum(
            1 for c in cases.values() if any(r["outcome"] == "completed" for r in c.values())),
        "adaptive_completes_every_case_some_policy_completes": not missed,
        "adaptive_missed": missed,
        "adaptive_converging_cases": converging,
        "adaptive_guest_downtime_within_max": not over_downtime,
        "adaptive_over_max_downtime": over_downtime,
        # job: libvirt's time_elapsed of the job; total: POST -> the migration's
        # end, i.e. with the control plane and the destination's preparation.
        "adaptive_job_over_bound_max": max(ratios["job"], default=None),
        "adaptive_job_within_1_5x_bound": bool(ratios["job"]) and max(ratios["job"]) <= 1.5,
        "adaptive_total_over_bound_max": max(ratios["total"], default=None),
        "adaptive_total_within_1_5x_bound": (bool(ratios["total"])
                                             and max(ratios["total"]) <= 1.5),
        "corrupt_lines": sum(r["corrupt"] for r in rows),
        "heartbeat_holes": sum(r["heartbeat_holes"] for r in rows),
    }


def run_convergence(args, workdir):
    sys.path.insert(0, REPO)
    from tests.fixtures import kvm

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    cases = _cases(args.cases)
    dirties = [d for d in _ints(args.dirty)
               if cases is None or any(c[0] == d for c in cases)]
    unknown = [p for p in policies if p not in POLICY_CONF]
    if unknown:
        raise SystemExit("unknown policies %s; known: %s" % (unknown, ", ".join(POLICY_CONF)))
    kvm.check_installed()
    progress("building the guest (guest/build.sh, cached)")
    guest = kvm.build_guest()
    caps = os.path.join(os.path.dirname(kvm.guest_dir()), "libvirt-caps")
    lab = kvm.Lab(os.path.join(workdir, "lab"), caps_cache=caps)
    progress("lab up in %s (prefix %s)" % (lab.datadir, lab.prefix))
    lab.up()
    cloud = None
    rows = []
    loadavg_before = os.getloadavg()
    try:
        cloud = kvm.KvmCloud(os.path.join(workdir, "cloud"), lab)
        progress("starting the cloud")
        cloud.start()
        images = cloud.upload_guest(guest, kvm.GUEST_CMDLINE, name="bench-guest")
        flavor = cloud.create_flavor("bench.lm", 1, args.ram, 1)["id"]
        bench = ConvergenceRun(args, cloud, lab, kvm)
        for dirty in dirties:
            cmdline = "console=ttyS0 quiet vmctl.dirty_mib=%d vmctl.dirty_rate=%d" % (
                args.dirty_mib, dirty)
            image = cloud.upload_image(
                "bench-dirty-%d" % dirty, guest["disk.qcow2"], "qcow2", "bare",
                kernel_id=images["kernel"]["id"], ramdisk_id=images["ramdisk"]["id"],
                os_command_line=cmdline)["id"]
            progress("guest dirtying %d MiB/s over %d MiB" % (dirty, args.dirty_mib))
            server = bench.boot("bench-lm-%d" % dirty, flavor, image)
            for bandwidth in _ints(args.bandwidth):
                if cases is not None and (dirty, bandwidth) not in cases:
                    continue
                for policy in policies:
                    progress(" %d MiB/s dirty, %d MiB/s link, %s" % (dirty, bandwidth, policy))
                    rows.append(bench.migrate(server, dirty, bandwidth, policy))
            cloud.api().delete("servers/%s" % server["id"])
            cloud.api().wait_for_deleted(server["id"], timeout=120)
    finally:
        progress("stopping the cloud and the lab")
        if cloud is not None:
            cloud.stop()
        lab.down()
    return {
        "convergence": rows,
        "convergence_summary": convergence_summary(rows, policies),
        "guest_ram_mib": args.ram, "max_run_s": args.max_run,
        "max_downtime_ms": MAX_DOWNTIME_MS, "heartbeat_ms": HB_MS,
        "loadavg_before": [round(x, 2) for x in loadavg_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "qemu": _first_line(["qemu-system-x86_64", "--version"]),
        **boot_bench.context(),
    }


def _first_line(argv):
    import subprocess

    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mysql", "postgresql"), default="sqlite")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=None,
                        help="moves before measuring (default: one per compute)")
    conv = parser.add_argument_group("--convergence (real guests, the kvm lab)")
    conv.add_argument("--convergence", action="store_true",
                      help="measure the convergence policies on real guests instead")
    conv.add_argument("--dirty", default="4,16,64", help="guest dirty rates, MiB/s")
    conv.add_argument("--dirty-mib", type=int, default=32, help="guest working set, MiB")
    conv.add_argument("--bandwidth", default="16,32,64", help="bandwidth limits, MiB/s")
    conv.add_argument("--policies", default="steps,adaptive",
                      help="of: %s" % ", ".join(POLICY_CONF))
    conv.add_argument("--cases", default="",
                      help="only these dirty/bandwidth pairs, e.g. 4/32,4/64,16/64")
    conv.add_argument("--ram", type=int, default=128, help="guest RAM, MiB")
    conv.add_argument("--max-run", type=float, default=40.0,
                      help="abort a migration still running after this many seconds")
    conv.add_argument("--workdir", help="keep the lab and cloud files here")
    args = parser.parse_args(argv)
    if args.convergence:
        if args.workdir:
            os.makedirs(args.workdir, exist_ok=True)
            print(json.dumps(run_convergence(args, args.workdir)))
            return
        with tempfile.TemporaryDirectory(prefix="vmctl-bench-converge-") as workdir:
            print(json.dumps(run_convergence(args, workdir)))
        return
    with tempfile.TemporaryDirectory(prefix="vmctl-bench-migrate-") as workdir:
        print(json.dumps(run(args, workdir)))


if __name__ == "__main__":
    main()
