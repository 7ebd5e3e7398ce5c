#!/usr/bin/env python3
"""Boot benchmark: CPU, wall time, list latency and memory of a real cloud.

Starts its own cloud (tests/fixtures/cloud.py ``LocalCloud``: every daemon a
process, RabbitMQ, the chosen database, 4 fake computes), then:

1. boots ``--servers`` (50) servers, one POST each from ``--threads``
   client threads, and waits until all are ACTIVE (wall time, and the CPU
   time the vmctl daemons spent meanwhile);
2. lets the cloud settle, sums the RSS of every daemon (at rest);
3. times 50 sequential ``GET /servers/detail`` (admin, microversion 2.88);
4. boots more servers up to ``--grow`` (500) and times 20 more.

Prints ONE JSON object on stdout (progress goes to stderr). Run it on
purpose, never from the tests:

    .venv/bin/python bench/boot.py [--db sqlite|mysql|postgresql]

It needs RabbitMQ at 127.0.0.1:5672 (and the MariaDB / PostgreSQL server
for those backends), like the functional tests. ``--profile DIR`` records a
py-spy profile (collapsed stacks) of every daemon during the boots; the
figures of such a run are distorted by the sampling and are not the
benchmark's.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.fixtures.cloud import LocalCloud  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
DB_URLS = {
    "mysql": "mysql+pymysql://root@localhost/{db}?unix_socket=/run/mysqld/mysqld.sock",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
}
# Each fake host is large enough for every server the benchmark boots.
FAKE_HOST = {"vcpus": 256, "memory_mb": 1048576, "disk_gb": 100000}
# Production defaults instead of the fixture's fast test timings, so that
# heartbeats and reports cost what they cost in a deployment.
CONF_OVERRIDES = {
    "DEFAULT": {"report_interval": 10, "service_down_time": 60},
    "compute": {"resource_report_interval": 60},
    "scheduler": {"host_state_cache_seconds": 1.0},
}


def progress(message):
    print("[%s] %s" % (datetime.datetime.now().strftime("%H:%M:%S"), message),
          file=sys.stderr, flush=True)


# --- /proc readings ------------------------------------------------------------

def _children(pid):
    """Live descendants of ``pid`` (scans /proc once)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def cpu_seconds(pid):
    """utime+stime of ``pid`` and its children (reaped and alive), in s."""
    total = 0
    for one in [pid] + _children(pid):
        try:
            with open("/proc/%d/stat" % one) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the ")": state is field 3, so utime (14) .. cstime (17)
        # are at indexes 11..14.
        total += sum(int(v) for v in fields[11:15])
    return total / CLK_TCK


def rss_mib(pid):
    """VmRSS of ``pid`` and its live children, in MiB."""
    total_kb = 0
    for one in [pid] + _children(pid):
        try:
            with open("/proc/%d/status" % one) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def cpu_by_daemon(pids):
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


# --- the workload ----------------------------------------------------------------

def boot(cloud, first, count, threads, flavor, timeout):
    """POST ``count`` servers (names bench-<n>), wait until all are ACTIVE.

    Returns (seconds from the first POST to the last ACTIVE, seconds of
    POSTing alone).
    """
    names = ["bench-%04d" % n for n in range(first, first + count)]
    local = threading.local()

    def post(name):
        if not hasattr(local, "api"):
            local.api = cloud.api()
        # "img": the image every LocalCloud holds; the API refuses unknown ones.
        return local.api.create_server(name, flavor=flavor, image="img")["id"]

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        ids = list(pool.map(post, names))
    posted = time.monotonic() - started
    wait_active(cloud, set(ids), started + timeout)
    return time.monotonic() - started, posted


def wait_active(cloud, ids, deadline):
    """Poll the database (not the API: polling must not load the daemons)."""
    import sqlalchemy

    from vmctl.db import models

    inst = models.Instance
    query = sqlalchemy.select(inst.uuid, inst.vm_state, inst.task_state).where(
        inst.uuid.in_(ids))
    while True:
        with cloud.db().reader() as session:
            rows = session.execute(query).all()
        errors = [r.uuid for r in rows if r.vm_state == "error"]
        if errors:
            raise SystemExit("bench: %d server(s) went to ERROR, e.g. %s" % (
                len(errors), errors[0]))
        active = sum(1 for r in rows if r.vm_state == "active" and r.task_state is None)
        if active == len(ids):
            return
        if time.monotonic() > deadline:
            raise SystemExit("bench: only %d of %d servers ACTIVE in time" % (
                active, len(ids)))
        time.sleep(0.05)


def time_detail(api, rounds, expect):
    """Wall milliseconds of ``rounds`` sequential GET /servers/detail."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        resp = api.get("servers/detail")
        elapsed = (time.perf_counter() - started) * 1000
        if resp.status_code != 200:
            raise SystemExit("bench: GET /servers/detail: %s %s" % (
                resp.status_code, resp.text[:200]))
        times.append(elapsed)
    count = len(resp.json()["servers"])
    if count != expect:
        raise SystemExit("bench: /servers/detail listed %d servers, expected %d"
                         % (count, expect))
    return times


def percentile(values, pct):
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# --- profiling (optional) ------------------------------------------------------------

def start_profiles(pids, directory):
    os.makedirs(directory, exist_ok=True)
    py_spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    procs = []
    for name, pid in pids.items():
        out = os.path.join(directory, "%s.collapsed" % name)
        procs.append(subprocess.Popen(
            [py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
             "--threads", "--output", out],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)  # py-spy attaches
    return procs


def stop_profiles(procs):
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- main ------------------------------------------------------------------------------

def context():
    with open("/proc/loadavg") as f:
        load = [float(v) for v in f.read().split()[:3]]
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        commit = ""
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "git_commit": commit, "loadavg_1_5_15": load}


def db_url(backend):
    if backend == "sqlite":
        return None  # LocalCloud puts a SQLite file in its workdir
    return DB_URLS[backend].format(db="vmctl_bench_%s" % secrets.token_hex(4))


def run(args, workdir):
    hosts = ["compute%d" % n for n in range(1, args.computes + 1)]
    cloud = LocalCloud(workdir, computes=hosts, db_url=db_url(args.db),
                       compute_conf={h: {"fake": dict(FAKE_HOST)} for h in hosts},
                       conf_overrides=CONF_OVERRIDES, auth=args.auth)
    result = {"db": args.db, "auth": args.auth, "computes": args.computes,
              "threads": args.threads,
              "servers": args.servers, "grow": args.grow}
    progress("starting the cloud in %s" % workdir)
    cloud.start()
    try:
        pids = cloud.pids()
        api = cloud.api()
        time.sleep(args.settle)

        progress("booting %d servers" % args.servers)
        profiles = start_profiles(pids, args.profile) if args.profile else []
        cpu_before = cpu_by_daemon(pids)
        wall, posted = boot(cloud, 0, args.servers, args.threads, args.flavor, args.timeout)
        cpu_after = cpu_by_daemon(pids)
        stop_profiles(profiles)
        spent = {n: cpu_after[n] - cpu_before[n] for n in pids}
        result.update({
            "boot50_wall_s": round(wall, 3),
            "boot50_post_s": round(posted, 3),
            "cpu_s_per_boot": round(sum(spent.values()) / args.servers, 4),
            "cpu_s_per_boot_by_daemon": {n: round(v / args.servers, 4)
                                         for n, v in sorted(spent.items())},
        })

        progress("settling %ss, then RSS at rest" % args.settle)
        cloud.wait_settled()
        time.sleep(args.settle)
        rss = {name: rss_mib(pid) for name, pid in pids.items()}
        result["rss_mib_at_rest"] = round(sum(rss.values()), 1)
        result["rss_mib_by_daemon"] = {n: round(v, 1) for n, v in sorted(rss.items())}

        progress("timing %d GET /servers/detail with %d servers" % (
            args.detail_rounds, args.servers))
        times = time_detail(api, args.detail_rounds, args.servers)
        result["detail50_p50_ms"] = round(statistics.median(times), 2)
        result["detail50_p95_ms"] = round(percentile(times, 95), 2)

        if args.grow > args.servers:
            more = args.grow - args.servers
            progress("booting %d more servers" % more)
            cpu_before = cpu_by_daemon(pids)
            wall, _ = boot(cloud, args.servers, more, args.threads, args.flavor,
                           args.timeout * more / args.servers)
            cpu_after = cpu_by_daemon(pids)
            result["boot500_wall_s"] = round(wall, 3)
            result["cpu_s_per_boot_grow"] = round(
                sum(cpu_after[n] - cpu_before[n] for n in pids) / more, 4)
            cloud.wait_settled()
            progress("timing %d GET /servers/detail with %d servers" % (
                args.grow_rounds, args.grow))
            times = time_detail(api, args.grow_rounds, args.grow)
            result["detail500_p50_ms"] = round(statistics.median(times), 2)
            result["detail500_p95_ms"] = round(percentile(times, 95), 2)
            result["rss_mib_after_grow"] = round(
                sum(rss_mib(pid) for pid in pids.values()), 1)
    finally:
        result.update(context())
        if args.keep:
            progress("--keep: cloud left running at %s (pids %s)" % (cloud.api_url, pids))
        else:
            progress("stopping the cloud")
            cloud.stop()
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "mysql", "postgresql"), default="sqlite")
    parser.add_argument("--auth", choices=("vmctl", "noauth"), default="vmctl",
                        help="the API's auth_strategy: real Fernet tokens of the embedded "
                        "identity (the default deployment) or noauth")
    parser.add_argument("--servers", type=int, default=50, help="first boot (default 50)")
    parser.add_argument("--grow", type=int, default=500,
                        help="total after growing (default 500; <= --servers skips)")
    parser.add_argument("--computes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="client threads POSTing")
    parser.add_argument("--flavor", default="1", help="flavor id (default m1.tiny)")
    parser.add_argument("--detail-rounds", type=int, default=50)
    parser.add_argument("--grow-rounds", type=int, default=20)
    parser.add_argument("--settle", type=float, default=3.0,
                        help="idle seconds before measuring at rest")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds allowed for the first boot")
    parser.add_argument("--workdir", help="default: a temporary directory")
    parser.add_argument("--keep", action="store_true",
                        help="leave the cloud running (to profile it by hand)")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy each daemon during the first boot (distorts figures)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.workdir or args.keep:
        workdir = args.workdir or tempfile.mkdtemp(prefix="vmctl-bench-")
        os.makedirs(workdir, exist_ok=True)
        result = run(args, workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="vmctl-bench-") as workdir:
            result = run(args, workdir)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
