"""Fuzz the whole API from the OpenAPI document it serves (schemathesis).

A real cloud (fake computes) answers every operation of
``GET /v2.1/openapi.json`` with generated requests, valid and invalid, as
the admin and as a member: no answer may be a 5xx, a body that says it is
JSON must parse, and a success status must be one the document lists. Many
cases aim at real things (a server, a running live migration, a flavor, an
image, identity records...) and some carry TRICKY path or query values.
Every problem found is collected (not only the first), then reported
together. ``VMCTL_FUZZ_EXAMPLES`` sets the examples per operation and
``VMCTL_FUZZ_VERBOSE=1`` (with ``-s``) prints the statuses seen.
"""

import collections
import http.server
import itertools
import json
import os
import re
import secrets
import threading
import time

from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest
import requests
import schemathesis

from vmctl.api import microversion as mv
from vmctl.api import openapi

MAX_EXAMPLES = int(os.environ.get("VMCTL_FUZZ_EXAMPLES", "25"))
# Operations the fuzzer must get a success from (it aims at real things),
# and the share of all operations that must answer at least one success.
REACHED = ["POST /v2.1/servers", "GET /v2.1/servers/{server_id}"]
REACHED_SHARE = 0.25  # a member is refused most admin APIs: ~40% here
# Values random strings seldom are, that parsers of ids and numbers trip on:
# "²".isdigit() is true, int("²") fails; too large for an SQL integer.
TRICKY = ["\u00b2", "99999999999999999999", "2147483648", "-1", "0", "1.5", "1e3",
          " 1", "\u0661", "", "null", "true", "..", "%00"]
# Operations with many shapes of body get more examples (times this).
WEIGHTS = {"POST /v2.1/servers/{server_id}/action": 8, "POST /v2.1/servers": 2}
# Valid requests, and requests that break the schema (which must be 4xx).
# (Positive ones twice as often.)
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.POSITIVE,
         schemathesis.GenerationMode.NEGATIVE]


# --- the checker and the loop -------------------------------------------------

def problems_of(response, documented=None):
    """What is wrong with one response: a 5xx, a body that claims to be
    JSON and does not parse, or a success status the operation's
    ``documented`` responses (their keys: "200", "2XX", ...) do not list."""
    found = []
    status = response.status_code
    if status >= 500:
        found.append("status %d" % status)
    if (documented is not None and 200 <= status < 300
            and not {str(status), "2XX"} & set(documented)):
        found.append("status %d, documented: %s" % (status, ", ".join(sorted(documented))))
    content_type = _header(response, "content-type")
    whole = getattr(response, "content_size", len(response.content)) == len(response.content)
    if "json" in content_type and response.content and whole:
        try:
            json.loads(response.content)
        except ValueError:
            found.append("a %s body that is not JSON" % content_type)
    return found


def _header(response, name):
    """A header of a schemathesis response (lowercase keys, list values)."""
    value = response.headers.get(name.lower()) or [""]
    return value if isinstance(value, str) else value[0]


def _text(response):
    return response.content[:300].decode("utf-8", "replace")


@schemathesis.serializer("application/openstack-images-v2.1-json-patch")
def _json_patch(ctx, value):
    """Image PATCH bodies are JSON under the image API's own media type."""
    return json.dumps(value).encode()


def _describe(case):
    body = case.body
    if isinstance(body, bytes):
        body = repr(body[:100])
    elif not isinstance(body, (dict, list, str, int, float, type(None))):
        body = "-"  # none
    return "%s %s query=%s headers=%s body=%s" % (
        case.method, case.formatted_path, case.query,
        {k: v for k, v in (case.headers or {}).items() if k != "X-Auth-Token"},
        json.dumps(body, default=repr)[:500])


def fuzz(schema, base_url, headers, max_examples=MAX_EXAMPLES, statuses=None, known=None):
    """Call every operation of ``schema`` with generated requests; a list of
    (case, problems, answer) for the responses ``problems_of`` objects to.

    ``known`` maps path parameter (and body field) names to ids of real
    things, or lists of them: most cases aim at them (see ``_cases``). DELETEs run last, so
    they do not take those things away from the other operations first.
    ``statuses`` (a Counter) counts the answers per (operation, status).
    """
    found = []
    statuses = statuses if statuses is not None else collections.Counter()
    session = requests.Session()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in sorted(operations, key=lambda op: op.method.upper() == "DELETE"):
        documented = schema.raw_schema["paths"][operation.path][operation.method.lower()][
            "responses"]

        @settings(max_examples=max_examples * WEIGHTS.get(operation.label, 1),
                  deadline=None, derandomize=True,
                  database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=_cases(operation, known or {}))
        def run(case):
            # Every case authenticated: negative cases would drop the token.
            # No microversion would mean 2.1, where much is still missing:
            # the generated ones include 2.1 anyway.
            case.headers = {**(case.headers or {}), **headers}
            if not set(case.headers) & {mv.HEADER, mv.LEGACY_HEADER}:
                case.headers[mv.HEADER] = "compute latest"
            try:
                response = case.call(base_url=base_url, session=session, timeout=60)
            except requests.ConnectionError as exc:  # e.g. a garbled answer
                found.append((_describe(case), ["no HTTP answer"], str(exc)[:300]))
                session.close()
                return
            statuses[operation.label, response.status_code] += 1
            problems = problems_of(response, documented)
            if problems:
                found.append((_describe(case), problems,
                              "%d %s" % (response.status_code, _text(response))))

        run()
    return found


def _cases(operation, known):
    """Generated cases; twice as many aimed at the ``known`` things (their
    ids in the path, and in the body's fields of those names, such as
    ``flavorRef``); and one in four with a TRICKY path or query value."""
    names = re.findall(r"\{(\w+)\}", operation.path)
    choices = [[(name, value) for value in _alternatives(known[name])]
               for name in names if name in known]

    def variants(**kw):
        return [operation.as_strategy(mode, **kw) for mode in MODES]

    cases = st.one_of(variants())
    if choices:
        aimed = st.one_of([strategy for combo in itertools.product(*choices)
                           for strategy in variants(path_parameters=dict(combo))])
        cases = st.one_of(cases, aimed, aimed)
    cases = st.one_of(cases, cases.map(lambda case: _aim_body(case, known)))
    params = [("path", name) for name in names] + [
        ("query", p.name) for p in operation.query]
    if not params:
        return cases
    tricky = st.tuples(cases, st.sampled_from(params), st.sampled_from(TRICKY)).map(_trick)
    return st.one_of(cases, cases, cases, tricky)


def _alternatives(value):
    return value if isinstance(value, list) else [value]


def _trick(args):
    """``case`` with one path or query parameter set to a tricky value."""
    case, (where, name), value = args
    if where == "path":
        case.path_parameters = {**(case.path_parameters or {}), name: value}
    else:
        case.query = {**(case.query or {}), name: value}
    return case


def _aim_body(case, known):
    def aim(value):
        if isinstance(value, dict):
            return {k: _alternatives(known[k])[0] if k in known else aim(v)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [aim(v) for v in value]
        return value

    if isinstance(case.body, (dict, list)):
        case.body = aim(case.body)
    return case


def _report(found, per_operation=3):
    """The problems, at most ``per_operation`` examples per operation."""
    shown = collections.Counter()
    lines = []
    for case, problems, answer in found:
        operation = " ".join(case.split()[:2])
        shown[operation] += 1
        if shown[operation] <= per_operation:
            lines.append("%s\n    -> %s: %s" % (case, ", ".join(problems), answer))
    return "\n".join(lines)


# --- the checker bites ------------------------------------------------------

class _Broken(http.server.BaseHTTPRequestHandler):
    """Answers /boom with a 500, /lie with 'JSON' that is not, /moved with
    an undocumented 201."""

    def do_GET(self):
        status, body = {"/boom": (500, b'{"computeFault": {}}'),
                        "/lie": (200, b"{not json"),
                        "/moved": (201, b"{}")}.get(self.path, (200, b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_fuzz_reports_a_500_a_lying_body_and_an_undocumented_status():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ok = {"responses": {"200": {"description": "ok"}}}
    doc = {"openapi": openapi.OPENAPI_VERSION, "info": {"title": "t", "version": "1"},
           "paths": {"/boom": {"get": ok}, "/lie": {"get": ok}, "/fine": {"get": ok},
                     "/moved": {"get": ok}}}
    try:
        found = fuzz(schemathesis.openapi.from_dict(doc),
                     "http://127.0.0.1:%d" % server.server_port, {}, max_examples=2)
    finally:
        server.shutdown()
        server.server_close()
    assert {(case.split()[1], tuple(problems)) for case, problems, _ in found} == {
        ("/boom", ("status 500",)),
        ("/lie", ("a application/json body that is not JSON",)),
        ("/moved", ("status 201, documented: 200",))}


# --- the API ------------------------------------------------------------------

# A slow link and no completion timeout: a guest dirtying its memory faster
# than the link stays migrating until forced or aborted.
_COMPUTE = {"fake": {"migration_bandwidth_mib": 50, "migration_time_scale": 20},
            "migration": {"completion_timeout": 0}}


@pytest.fixture(scope="module")
def fuzz_cloud(cloud_factory):
    """noauth: X-Auth-Token is user:project."""
    return cloud_factory("fuzz", computes=2, auth="noauth",
                         compute_conf={h: _COMPUTE for h in ("compute1", "compute2")})


@pytest.fixture(scope="module")
def token_cloud(cloud_factory):
    """The embedded identity service: real tokens."""
    return cloud_factory("fuzz-tokens", computes=2, auth="vmctl",
                         compute_conf={h: _COMPUTE for h in ("compute1", "compute2")})


def _root(cloud):
    return "http://127.0.0.1:%d" % cloud.api_port


def _served_schema(cloud):
    resp = requests.get(_root(cloud) + openapi.PATH, timeout=30)
    assert resp.status_code == 200, resp.text
    return schemathesis.openapi.from_dict(resp.json())


def _real_things(cloud, who):
    """Ids of things of ``who`` (user, project) to aim at: an ACTIVE server
    and its create request, a flavor with an extra spec, an image; for the
    admin, a hypervisor too."""
    user, project = who
    admin, api = cloud.api(), cloud.api(user, project)
    flavor = "fuzz-%s-%s" % (user, secrets.token_hex(3))
    resp = admin.post("flavors", json={"flavor": {"name": flavor, "id": flavor, "ram": 64,
                                                  "vcpus": 1, "disk": 1}})
    assert resp.status_code == 200, resp.text
    resp = admin.post("flavors/%s/os-extra_specs" % flavor,
                      json={"extra_specs": {"hw:cpu_policy": "shared"}})
    assert resp.status_code == 200, resp.text
    server = api.create_server("fuzz-target", flavor=flavor)
    api.wait_for_status(server["id"], "ACTIVE", timeout=120)
    actions = api.get("servers/%s/os-instance-actions" % server["id"]).json()
    image = api.post(_root(cloud) + "/image/v2/images",
                     json={"name": "fuzz", "disk_format": "raw", "container_format": "bare"})
    assert image.status_code == 201, image.text
    known = {"server_id": server["id"], "request_id": actions["instanceActions"][0]["request_id"],
             "flavor_id": flavor, "key": "hw:cpu_policy", "image_id": image.json()["id"],
             # body fields
             # the cloud's active community image: a create must name an image the
             # caller may boot (the fuzz image above is queued, without data)
             "flavorRef": flavor, "imageRef": "img", "host": cloud.computes[-1]}
    known["server_group_id"] = _create(api, "os-server-groups", "server_group",
                                       {"name": "fuzz", "policy": "anti-affinity"})
    if user == "admin":
        known["hypervisor_id"] = admin.get("os-hypervisors").json()["hypervisors"][0]["id"]
        known["aggregate_id"] = str(_create(admin, "os-aggregates", "aggregate",
                                            {"name": "fuzz-%s" % secrets.token_hex(3)}))
        identity = _root(cloud) + "/identity/v3/"
        suffix = secrets.token_hex(3)
        known.update(
            domain_id="default",
            project_id=_create(admin, identity + "projects", "project",
                               {"name": "fuzz-" + suffix, "domain_id": "default"}),
            user_id=_create(admin, identity + "users", "user",
                            {"name": "fuzz-" + suffix, "password": "fuzz-" + suffix,
                             "domain_id": "default"}),
            role_id=_create(admin, identity + "roles", "role", {"name": "fuzz-" + suffix}))
        migrating, known["migration_id"] = _live_migration(cloud, admin)
        known["server_id"] = [server["id"], migrating]
    return known


def _create(api, path, key, values):
    """The id of a ``key`` thing POSTed to ``path``."""
    resp = api.post(path, json={key: values})
    assert resp.status_code in (200, 201), resp.text
    return resp.json()[key]["id"]


# A guest that cannot converge, under Nova's schedule with no way out.
STUCK = {"migration:policy": "steps", "migration:permit_post_copy": "false",
         "migration:permit_auto_converge": "false", "migration:max_downtime_ms": "100"}


def _live_migration(cloud, admin):
    """(server id, migration id) of a live migration that stays running."""
    flavor = "fuzz-stuck-%s" % secrets.token_hex(3)
    resp = admin.post("flavors", json={"flavor": {"name": flavor, "id": flavor, "ram": 512,
                                                  "vcpus": 1, "disk": 1}})
    assert resp.status_code == 200, resp.text
    admin.post("flavors/%s/os-extra_specs" % flavor, json={"extra_specs": STUCK})
    server = admin.create_server("fuzz-migrating", flavor=flavor,
                                 metadata={"fake_dirty_rate_mib": "200"})
    admin.wait_for_status(server["id"], "ACTIVE", timeout=120)
    resp = admin.action(server["id"], {"os-migrateLive": {"host": None,
                                                          "block_migration": "auto"}})
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = admin.get("servers/%s/migrations" % server["id"]).json()["migrations"]
        if running and running[0]["status"] == "running":
            return server["id"], str(running[0]["id"])
        time.sleep(0.2)
    raise AssertionError("the live migration of %s never ran" % server["id"])


def _end_live_migrations(cloud, timeout=120):
    """Abort every live migration still under way, and wait for the end."""
    admin = cloud.api()
    servers = admin.get("servers", params={"all_tenants": "1"}).json()["servers"]
    for server in servers:
        path = "servers/%s/migrations" % server["id"]
        for migration in admin.get(path).json().get("migrations", []):
            admin.delete("%s/%s" % (path, migration["id"]))  # 400/409 if ending
        deadline = time.monotonic() + timeout
        while admin.get(path).json().get("migrations") and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("who", [pytest.param(("admin", "admin"), id="admin"),
                                 pytest.param(("user1", "proj1"), id="member")])
def test_no_server_errors(fuzz_cloud, who):
    _fuzz_as(fuzz_cloud, who, {"X-Auth-Token": "%s:%s" % who})


@pytest.mark.slow
def test_no_server_errors_with_real_tokens(token_cloud):
    """The same as the admin, authenticated by a token of the identity service."""
    _fuzz_as(token_cloud, ("admin", "admin"), {"X-Auth-Token": token_cloud.token()[0]})


def _fuzz_as(cloud, who, headers):
    statuses = collections.Counter()
    try:
        known = _real_things(cloud, who)
        found = fuzz(_served_schema(cloud), _root(cloud), headers, statuses=statuses,
                     known=known)
    finally:
        _end_live_migrations(cloud)
        cloud.delete_all_servers(timeout=120)
    if os.environ.get("VMCTL_FUZZ_VERBOSE"):
        print("\n".join("%s -> %d: %d" % (label, status, count)
                        for (label, status), count in sorted(statuses.items())))
    assert not found, "%d bad answer(s):\n%s" % (len(found), _report(found))
    # The fuzzer got past validation to real things, not only to 4xx.
    succeeded = {label for label, status in statuses if status < 300}
    missed = [label for label in REACHED if label not in succeeded]
    assert not missed, "never a success: %s\n%s" % (missed, sorted(statuses.items()))
    operations = {label for label, _ in statuses}
    assert len(succeeded) >= REACHED_SHARE * len(operations), sorted(statuses.items())
