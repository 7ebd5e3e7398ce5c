#!/usr/bin/env python3
"""Control-plane benchmark of cold migration on the fake driver.

Workload (issue 5): 4 fake computes; one server; 20 sequential cold
migrations, each timed from POST ``migrate`` through ``confirmResize`` to
the migration's status ``confirmed`` with the server ACTIVE. Prints one
JSON object:

  cold_p50_ms, cold_p95_ms       POST migrate -> confirmed, server ACTIVE
  cpu_s_per_cold_migration       CPU seconds (utime+stime, from /proc) of
                                 every vmctl daemon during the 20, / 20

The fake driver really copies its modelled disk (64 KiB, token-checked and
SHA-256 verified through vmctl.virt.disk_transfer), so the figures are the
control plane's: API, conductor, scheduler, both computes, RabbitMQ and the
database. Run on purpose, never in the tests:

    .venv/bin/python bench/cold_migrate.py [--db sqlite|mysql|postgresql] [--count 20]
"""

import argparse
import json
import os
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import migrate as migrate_bench  # noqa: E402  (the shared measurement loop)


def _wait_migration(api, server_id, wanted, deadline):
    while time.monotonic() < deadline:
        found = api.get("os-migrations?instance_uuid=%s&limit=1" % server_id).json()
        latest = found["migrations"][0]
        if latest["status"] == wanted:
            return latest
        if latest["status"] in ("error", "reverted", "confirmed"):
            raise RuntimeError("migration ended %s, waiting for %s" % (latest["status"],
                                                                       wanted))
        time.sleep(0.01)
    raise RuntimeError("migration of %s never reached %s" % (server_id, wanted))


def migrate_once(api, server_id, timeout=30):
    started = time.monotonic()
    deadline = started + timeout
    resp = api.post("servers/%s/action" % server_id, json={"migrate": None})
    if resp.status_code != 202:
        raise RuntimeError("migrate: %s %s" % (resp.status_code, resp.text))
    _wait_migration(api, server_id, "finished", deadline)
    resp = api.post("servers/%s/action" % server_id, json={"confirmResize": None})
    if resp.status_code != 204:
        raise RuntimeError("confirmResize: %s %s" % (resp.status_code, resp.text))
    _wait_migration(api, server_id, "confirmed", deadline)
    while api.server(server_id)["status"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise RuntimeError("server %s not ACTIVE after its migration" % server_id)
        time.sleep(0.01)
    return time.monotonic() - started


def run(args, workdir):
    result = migrate_bench.measure_moves(args, workdir, "cold", migrate_once,
                                         microversion="2.88")
    result["cpu_s_per_cold_migration"] = result.pop("cpu")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mysql", "postgresql"), default="sqlite")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=None,
                        help="moves before measuring (default: one per compute)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vmctl-bench-cold-") as workdir:
        print(json.dumps(run(args, workdir)))


if __name__ == "__main__":
    main()
