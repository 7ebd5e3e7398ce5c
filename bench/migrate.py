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


def run(args, workdir):
    hosts = ["compute%d" % n for n in range(1, 5)]
    cloud = boot_bench.LocalCloud(
        workdir, computes=hosts, db_url=boot_bench.db_url(args.db),
        compute_conf={h: {"fake": dict(boot_bench.FAKE_HOST)} for h in hosts},
        conf_overrides=boot_bench.CONF_OVERRIDES)
    cloud.start()
    try:
        api = cloud.api(microversion="2.80")
        server = api.wait_for_status(api.create_server("bench-live")["id"], "ACTIVE")
        migrate_once(api, server["id"])  # warm every path once
        pids = cloud.pids()
        before = sum(boot_bench.cpu_by_daemon(pids).values())
        times = [migrate_once(api, server["id"]) for _ in range(args.count)]
        cpu = sum(boot_bench.cpu_by_daemon(pids).values()) - before
    finally:
        cloud.stop()
    return {
        "live_p50_ms": round(boot_bench.percentile(times, 50) * 1000, 1),
        "live_p95_ms": round(boot_bench.percentile(times, 95) * 1000, 1),
        "cpu_s_per_live_migration": round(cpu / args.count, 4),
        "count": args.count, "db": args.db,
        "samples_ms": [round(t * 1000, 1) for t in times],
        **boot_bench.context(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mysql", "postgresql"), default="sqlite")
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vmctl-bench-migrate-") as workdir:
        print(json.dumps(run(args, workdir)))


if __name__ == "__main__":
    main()
