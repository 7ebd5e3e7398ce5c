#!/usr/bin/env python3
"""Spawn benchmark: POST /servers -> the real guest's first heartbeat.

For one guest at a time (``--sequential`` 5 boots, each deleted before the
next) and for ``--parallel`` (8) guests POSTed at once, measures per guest

* ``spawn``: the POST is sent -> the first ``HB <seq> <uptime_ms>`` line is
  seen in the console output (``os-getConsoleOutput``, polled every
  ``--poll`` 0.1 s once the server is ACTIVE);
* ``control_plane``: the POST is sent -> the domain was started, i.e. the
  server's ``OS-SRV-USG:launched_at`` (the conductor stamps it, in the same
  transaction as the finish of the ``compute_build_and_run_instance``
  action event, when the compute reports that libvirt started the domain);
* ``guest_boot``: launched_at -> first heartbeat seen. The serial file's
  own write times are not available through the API, so this is an upper
  bound; the previous poll (no heartbeat yet) bounds it from below, at most
  one poll interval plus one request earlier (``hb_poll_gap_*``).

and reports p50 / p95 of each. Prints ONE JSON object on stdout (progress
on stderr). Run it on purpose, never from the tests. Two ways:

    # its own cloud + lab (tests/fixtures/kvm.py: two namespaced libvirt
    # hosts, a LocalCloud with one libvirt compute per host); needs root,
    # RabbitMQ, the lab packages (tools/kvm-lab/install-packages.sh)
    .venv/bin/python bench/spawn.py

    # an already running devstack (devstack/stack.sh, VMCTL_VIRT=libvirt):
    # image "vmctl-guest" and flavor "m1.nano" are looked up by name
    .venv/bin/python bench/spawn.py --url http://127.0.0.1:8774 --token admin:admin
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# The guest's workload: heartbeats only matter here, so dirty little memory.
CMDLINE = "console=ttyS0 quiet vmctl.dirty_mib=16 vmctl.dirty_rate=2"
NANO = {"name": "m1.nano", "vcpus": 1, "ram": 128, "disk": 1}


def progress(message):
    print("[%s] %s" % (datetime.datetime.now().strftime("%H:%M:%S"), message),
          file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --- the API ---------------------------------------------------------------------

class Api:
    """Just what the benchmark needs of the compute and image APIs."""

    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token
        self._local = threading.local()

    @property
    def session(self):
        # requests.Session is not thread-safe: one per thread.
        if not hasattr(self._local, "session"):
            session = requests.Session()
            session.headers.update({"X-Auth-Token": self.token,
                                    "OpenStack-API-Version": "compute 2.88"})
            self._local.session = session
        return self._local.session

    def call(self, method, path, expect=(200,), **kw):
        resp = self.session.request(method, self.url + path, timeout=30, **kw)
        if resp.status_code not in expect:
            raise BenchError("%s %s: %s %s" % (method, path, resp.status_code, resp.text[:300]))
        return resp

    def create_server(self, name, flavor, image):
        body = {"server": {"name": name, "flavorRef": flavor, "imageRef": image}}
        return self.call("POST", "/v2.1/servers", expect=(202,), json=body).json()["server"]["id"]

    def server(self, server_id):
        return self.call("GET", "/v2.1/servers/%s" % server_id).json()["server"]

    def console(self, server_id, length=5):
        """The console tail, or None while the server has no console yet (409)."""
        resp = self.call("POST", "/v2.1/servers/%s/action" % server_id, expect=(200, 409),
                         json={"os-getConsoleOutput": {"length": length}})
        return resp.json()["output"] if resp.status_code == 200 else None

    def delete_and_wait(self, server_ids, timeout):
        for server_id in server_ids:
            self.call("DELETE", "/v2.1/servers/%s" % server_id, expect=(204, 404))
        deadline = time.monotonic() + timeout
        for server_id in server_ids:
            while self.call("GET", "/v2.1/servers/%s" % server_id,
                            expect=(200, 404)).status_code == 200:
                if time.monotonic() > deadline:
                    raise BenchError("server %s not deleted within %ss" % (server_id, timeout))
                time.sleep(0.2)

    def flavor_id(self, name_or_id):
        for flavor in self.call("GET", "/v2.1/flavors").json()["flavors"]:
            if name_or_id in (flavor["id"], flavor["name"]):
                return flavor["id"]
        raise BenchError("no flavor %r (devstack creates m1.nano: 1 vCPU, 128 MiB)" % name_or_id)

    def image_id(self, name_or_id):
        images = self.call("GET", "/image/v2/images?status=active").json()["images"]
        for image in images:
            if name_or_id in (image["id"], image["name"]):
                return image["id"]
        raise BenchError("no active image %r (devstack uploads vmctl-guest)" % name_or_id)


def parse_stamp(value):
    """An API timestamp (UTC, with or without Z / offset) as epoch seconds."""
    stamp = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


def first_hb(output):
    for line in (output or "").replace("\r", "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "HB" and parts[1].isdigit():
            return line
    return None


# --- one guest -------------------------------------------------------------------

def spawn_one(api, name, flavor, image, poll, timeout, start_gate=None):
    """POST one server and follow it to its first heartbeat; its timings."""
    if start_gate is not None:
        start_gate.wait()
    posted = time.time()
    server_id = api.create_server(name, flavor, image)
    deadline = time.monotonic() + timeout
    # 1. until ACTIVE (launched_at, not this poll, times the control plane)
    while True:
        server = api.server(server_id)
        if server["status"] == "ACTIVE":
            break
        if server["status"] == "ERROR":
            raise BenchError("server %s went to ERROR: %s" % (
                server_id, (server.get("fault") or {}).get("message")))
        if time.monotonic() > deadline:
            raise BenchError("server %s still %s after %ss" % (server_id, server["status"],
                                                                timeout))
        time.sleep(poll)
    launched = parse_stamp(server["OS-SRV-USG:launched_at"])
    # 2. until the first heartbeat on the console
    previous = None      # when the last poll without a heartbeat was answered
    polls = 0
    while True:
        output = api.console(server_id)
        seen = time.time()
        polls += 1
        if first_hb(output):
            break
        if time.monotonic() > deadline:
            raise BenchError("no heartbeat from %s after %ss; console:\n%s" % (
                server_id, timeout, (output or "")[-1500:]))
        previous = seen
        time.sleep(poll)
    return {"id": server_id, "host": server.get("OS-EXT-SRV-ATTR:host"),
            "spawn_s": seen - posted,
            "control_plane_s": launched - posted,
            "guest_boot_s": seen - launched,
            "hb_poll_gap_s": (seen - previous) if previous else None,
            "console_polls": polls}


def run_batch(api, prefix, count, flavor, image, poll, timeout):
    """``count`` guests POSTed at once (threads released together)."""
    gate = threading.Barrier(count) if count > 1 else None
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(spawn_one, api, "%s-%d" % (prefix, n), flavor, image,
                               poll, timeout, gate) for n in range(count)]
        results, errors = [], []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
    return results, errors


def percentile(values, pct):
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarise(results, tag):
    out = {}
    for key in ("spawn", "control_plane", "guest_boot"):
        values = [r[key + "_s"] for r in results]
        out["%s%s_p50_s" % (key, tag)] = round(statistics.median(values), 3)
        out["%s%s_p95_s" % (key, tag)] = round(percentile(values, 95), 3)
    gaps = [r["hb_poll_gap_s"] for r in results if r["hb_poll_gap_s"] is not None]
    if gaps:
        out["hb_poll_gap%s_max_s" % tag] = round(max(gaps), 3)
    out["hosts%s" % tag] = sorted({r["host"] or "?" for r in results})
    out["samples%s" % tag] = [
        {k: (round(v, 3) if isinstance(v, float) else v)
         for k, v in r.items() if k in ("spawn_s", "control_plane_s", "guest_boot_s", "host")}
        for r in results]
    return out


def measure(api, args, flavor, image):
    result = {}
    progress("warm-up boot (image download into the computes' caches)")
    warm, errors = run_batch(api, "spawn-warm", min(2, args.parallel), flavor, image,
                             args.poll, args.timeout)
    api.delete_and_wait([r["id"] for r in warm], args.timeout)
    if errors:
        raise errors[0]

    runs = []
    for n in range(args.sequential):
        progress("sequential boot %d/%d" % (n + 1, args.sequential))
        got, errors = run_batch(api, "spawn1-%d" % n, 1, flavor, image, args.poll,
                                args.timeout)
        api.delete_and_wait([r["id"] for r in got], args.timeout)
        if errors:
            raise errors[0]
        runs += got
    result.update(summarise(runs, "1"))
    result["load_after_sequential"] = loadavg()

    progress("%d boots at once" % args.parallel)
    got, errors = run_batch(api, "spawn%d" % args.parallel, args.parallel, flavor, image,
                            args.poll, args.timeout)
    api.delete_and_wait([r["id"] for r in got], args.timeout)
    if errors:
        raise errors[0]
    tag = str(args.parallel)
    result.update(summarise(got, tag))
    result["load_after_parallel"] = loadavg()
    return result


# --- context -----------------------------------------------------------------------

def loadavg():
    with open("/proc/loadavg") as f:
        return [float(v) for v in f.read().split()[:3]]


def _first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return ""
    return out.strip().splitlines()[0] if out.strip() else ""


def context(api):
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        import libvirt
        lib = libvirt.getVersion()
        libvirt_version = "%d.%d.%d" % (lib // 1000000, lib // 1000 % 1000, lib % 1000)
    except ImportError:
        libvirt_version = _first_line(["libvirtd", "--version"])
    hypervisors = api.call("GET", "/v2.1/os-hypervisors/detail").json()["hypervisors"]
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "git_commit": _first_line(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
            "git_dirty": bool(_first_line(["git", "-C", REPO, "status", "--porcelain",
                                           "--untracked-files=no"])),
            "qemu": _first_line(["qemu-system-x86_64", "--version"]),
            "libvirt": libvirt_version,
            "hypervisor_types": sorted({h.get("hypervisor_type", "?") for h in hypervisors}),
            "computes": len(hypervisors), "loadavg_1_5_15": loadavg()}


# --- main --------------------------------------------------------------------------

def run_on_url(args):
    api = Api(args.url, args.token)
    flavor = api.flavor_id(args.flavor)
    image = api.image_id(args.image)
    result = {"mode": "url", "url": args.url, "flavor": flavor, "image": image,
              "loadavg_before": loadavg()}
    result.update(measure(api, args, flavor, image))
    result.update(context(api))
    return result


def run_own_cloud(args, workdir):
    from tests.fixtures import kvm

    kvm.check_installed()
    progress("building the guest (guest/build.sh, cached)")
    guest = kvm.build_guest()
    lab = kvm.Lab(os.path.join(workdir, "lab"))
    progress("lab up in %s (prefix %s)" % (lab.datadir, lab.prefix))
    lab.up()
    cloud = None
    try:
        cloud = kvm.KvmCloud(os.path.join(workdir, "cloud"), lab)
        progress("starting the cloud")
        cloud.start()
        api = Api(cloud.api_url.split("/v2.1")[0], args.token)
        flavor = cloud.create_flavor(NANO["name"], NANO["vcpus"], NANO["ram"], NANO["disk"],
                                     flavorid="42")["id"]
        image = cloud.upload_guest(guest, CMDLINE)["disk"]["id"]
        result = {"mode": "own-cloud", "flavor": flavor, "image": image,
                  "loadavg_before": loadavg()}
        result.update(measure(api, args, flavor, image))
        result.update(context(api))
        return result
    finally:
        progress("stopping the cloud and the lab")
        if cloud is not None:
            cloud.stop()
        lab.down()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running cloud (e.g. devstack's "
                        "http://127.0.0.1:8774); default: start one with its own lab")
    parser.add_argument("--token", default="admin:admin", help="X-Auth-Token (admin)")
    parser.add_argument("--flavor", default="m1.nano", help="--url: flavor name or id")
    parser.add_argument("--image", default="vmctl-guest", help="--url: image name or id")
    parser.add_argument("--sequential", type=int, default=5,
                        help="boots one at a time (default 5)")
    parser.add_argument("--parallel", type=int, default=8,
                        help="boots at once (default 8)")
    parser.add_argument("--poll", type=float, default=0.1,
                        help="seconds between two status / console polls")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds one guest may take to its first heartbeat")
    parser.add_argument("--workdir", help="own cloud: default a temporary directory")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.url:
        result = run_on_url(args)
    elif args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        result = run_own_cloud(args, os.path.abspath(args.workdir))
    else:
        with tempfile.TemporaryDirectory(prefix="vmctl-spawn-") as workdir:
            result = run_own_cloud(args, workdir)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
