"""The vmctl CLI's pure logic: configuration, auth requests, output, parsing
of live-migration decisions, error lines. (tests/functional/test_vmctl_cli.py runs
the real program against a real cloud.)"""

import email.message
import io
import json
import os
import subprocess
import urllib.error

import pytest

from vmctl import cli
from vmctl.cli import config
from vmctl.cli import hosts
from vmctl.cli import images as cli_images
from vmctl.cli import live
from vmctl.cli import output
from vmctl.cli import progress
from vmctl.cli import session
from vmctl.cli import waiters

# --- configuration ----------------------------------------------------------------


def _write(path, data):
    path.write_text(json.dumps(data))  # JSON is YAML
    return str(path)


@pytest.fixture
def clouds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path / "clouds.yaml", {"clouds": {"lab": {
        "auth_type": "password", "region_name": "RegionOne",
        "auth": {"auth_url": "http://id/v3", "username": "alice", "password": "from-file",
                 "project_name": "demo", "user_domain_name": "Default"}}}})
    return {"HOME": str(tmp_path / "home")}, path


def test_cloud_from_clouds_yaml(clouds):
    environ, path = clouds
    cfg = config.resolve({"cloud": "lab"}, environ)
    assert cfg.auth_type == "password"
    assert cfg.auth["username"] == "alice" and cfg.region_name == "RegionOne"
    assert cfg.source == path and cfg.interface == "public"
    assert cfg.compute_api_version == config.DEFAULT_COMPUTE_API_VERSION
    assert "from-file" not in cfg.describe()


def test_environment_overrides_the_file_and_options_override_both(clouds):
    environ, _ = clouds
    environ.update({"OS_CLOUD": "lab", "OS_PASSWORD": "from-env", "OS_REGION_NAME": "Two",
                    "OS_INTERFACE": "internalURL", "OS_COMPUTE_API_VERSION": "2.60"})
    cfg = config.resolve({"cloud": None}, environ)
    assert (cfg.auth["password"], cfg.region_name) == ("from-env", "Two")
    assert cfg.interface == "internal" and cfg.compute_api_version == "2.60"
    cfg = config.resolve({"password": "from-option", "region_name": None}, environ)
    assert (cfg.auth["password"], cfg.region_name) == ("from-option", "Two")


def test_os_client_config_file_wins_over_the_working_directory(clouds, tmp_path):
    environ, _ = clouds
    other = _write(tmp_path / "other.yaml", {"clouds": {"lab": {
        "auth_type": "noauth", "auth": {"endpoint": "http://api:8774"}}}})
    environ["OS_CLIENT_CONFIG_FILE"] = other
    cfg = config.resolve({"cloud": "lab"}, environ)
    assert (cfg.auth_type, cfg.source) == ("noauth", other)


def test_user_config_dir_is_searched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    (home / ".config" / "openstack").mkdir(parents=True)
    _write(home / ".config" / "openstack" / "clouds.yaml",
           {"clouds": {"dev": {"auth_type": "noauth", "auth": {"endpoint": "http://x"}}}})
    cfg = config.resolve({"cloud": "dev"}, {"HOME": str(home)})
    assert cfg.auth["endpoint"] == "http://x"


def test_secure_yaml_is_merged(clouds, tmp_path):
    environ, _ = clouds
    _write(tmp_path / "secure.yaml", {"clouds": {"lab": {"auth": {"password": "secret"}}}})
    cfg = config.resolve({"cloud": "lab"}, environ)
    assert cfg.auth["password"] == "secret" and cfg.auth["username"] == "alice"


def test_devstack_style_cloud_without_auth_type(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "clouds.yaml", {"clouds": {"vmctl": {
        "auth": {"auth_url": "http://127.0.0.1:8774/identity/v3", "username": "admin",
                 "password": "pw", "project_name": "admin"},
        "region_name": "RegionOne", "identity_api_version": 3, "interface": "public"}}})
    cfg = config.resolve({"cloud": "vmctl"}, {"HOME": str(tmp_path)})
    assert (cfg.auth_type, cfg.region_name) == ("password", "RegionOne")


def test_unknown_cloud_names_the_file_and_its_clouds(clouds):
    environ, path = clouds
    with pytest.raises(config.ConfigError, match="'nope' is not in .*it has: lab"):
        config.resolve({"cloud": "nope"}, environ)


def test_password_auth_from_os_variables_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config.resolve({}, {"HOME": str(tmp_path), "OS_AUTH_URL": "http://id:5000",
                              "OS_USERNAME": "u", "OS_PASSWORD": "p",
                              "OS_PROJECT_ID": "p1"})
    assert cfg.auth_type == "password" and cfg.cloud is None
    assert cfg.auth["project_id"] == "p1"


@pytest.mark.parametrize("auth, expected", [
    ({"token": "t", "endpoint": "http://api"}, "token"),
    ({"auth_url": "http://id"}, "password"),
    ({"endpoint": "http://api", "user": "u"}, "noauth"),
])
def test_auth_type_is_inferred(auth, expected):
    assert config.infer_auth_type(auth) == expected


def test_nothing_configured_is_one_clear_error():
    with pytest.raises(config.ConfigError, match="no cloud configured"):
        config.infer_auth_type({})


@pytest.mark.parametrize("auth_type, auth, missing", [
    ("password", {"auth_url": "x", "username": "u", "password": "p"}, "project_name"),
    ("password", {"auth_url": "x", "project_name": "p"}, "username, password"),
    ("token", {"token": "t"}, "endpoint"),
    ("kerberos", {}, "not supported"),
])
def test_missing_auth_settings_are_named(auth_type, auth, missing):
    with pytest.raises(config.ConfigError, match=missing):
        config.check(auth_type, auth)


def test_legacy_vmctl_url_is_a_noauth_cloud(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config.resolve({}, {"HOME": str(tmp_path), "VMCTL_URL": "http://api:8774",
                              "VMCTL_TOKEN": "bob:proj"})
    assert cfg.auth_type == "noauth"
    assert cfg.auth == {"endpoint": "http://api:8774", "token": "bob:proj"}


# --- sessions and auth --------------------------------------------------------------


def test_password_request_scopes_to_a_project_by_name_or_id():
    body = session.password_request({"username": "alice", "password": "pw",
                                     "project_name": "demo"})
    identity = body["auth"]["identity"]
    assert identity["methods"] == ["password"]
    assert identity["password"]["user"] == {"name": "alice", "password": "pw",
                                            "domain": {"name": "Default"}}
    assert body["auth"]["scope"] == {"project": {"name": "demo",
                                                 "domain": {"name": "Default"}}}
    body = session.password_request({"username": "a", "password": "p", "project_id": "42",
                                     "user_domain_id": "d1"})
    assert body["auth"]["scope"] == {"project": {"id": "42"}}
    assert body["auth"]["identity"]["password"]["user"]["domain"] == {"id": "d1"}


@pytest.mark.parametrize("url", ["http://h:5000", "http://h:5000/", "http://h:5000/v3",
                                 "http://h:5000/v3/"])
def test_auth_url_with_or_without_v3(url):
    assert session.keystone_v3(url) == "http://h:5000/v3"


CATALOG = [
    {"type": "identity", "endpoints": [{"interface": "public", "url": "http://h/identity"}]},
    {"type": "compute", "endpoints": [
        {"interface": "internal", "region": "R1", "url": "http://internal/v2.1"},
        {"interface": "public", "region": "R2", "url": "http://r2/v2.1"},
        {"interface": "public", "region": "R1", "url": "http://r1/v2.1"}]},
]


def test_catalog_endpoint_by_interface_and_region():
    assert session.catalog_endpoint(CATALOG, "compute", "public") == "http://r2/v2.1"
    assert session.catalog_endpoint(CATALOG, "compute", "public", "R1") == "http://r1/v2.1"
    assert session.catalog_endpoint(CATALOG, "compute", "internal") == "http://internal/v2.1"
    assert session.catalog_endpoint(CATALOG, "image", "public") is None


class FakeHTTP:
    """Records requests; answers from a list of (status, headers, body)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, request, timeout):
        self.requests.append(request)
        status, headers, body = self.answers.pop(0)
        raw = json.dumps(body).encode() if body is not None else b""
        msg = email.message.Message()
        for key, value in headers.items():
            msg[key] = value
        if status >= 400:
            raise urllib.error.HTTPError(request.full_url, status, "x", msg, io.BytesIO(raw))
        return _Resp(status, msg, raw)


class _Resp:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self._raw = status, headers, raw

    def read(self):
        return self._raw

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _password_config(**auth):
    base = {"auth_url": "http://id:5000", "username": "alice", "password": "pw",
            "project_name": "demo"}
    return config.CloudConfig(auth_type="password", auth={**base, **auth})


def test_password_auth_then_compute_request_with_the_token():
    http = FakeHTTP((201, {"X-Subject-Token": "tok-1"}, {"token": {"catalog": CATALOG}}),
                    (200, {"x-openstack-request-id": "req-1"}, {"servers": []}))
    lines = []
    sess = session.Session(_password_config(), opener=http, debug=lines.append)
    resp = sess.compute("GET", "/servers", params={"name": "vm", "host": None})
    assert resp.body == {"servers": []} and resp.request_id == "req-1"
    auth_req, api_req = http.requests
    assert (auth_req.get_method(), auth_req.full_url) == ("POST",
                                                          "http://id:5000/v3/auth/tokens")
    assert json.loads(auth_req.data)["auth"]["identity"]["password"]["user"]["name"] == "alice"
    assert auth_req.get_header("X-auth-token") is None
    assert api_req.full_url == "http://r2/v2.1/servers?name=vm"
    assert api_req.get_header("X-auth-token") == "tok-1"
    assert api_req.get_header("Openstack-api-version") == "compute 2.88"
    trace = "\n".join(lines)
    assert "tok-1" not in trace and '"pw"' not in trace and "***" in trace


def test_an_expired_token_is_renewed_once():
    login = (201, {"X-Subject-Token": "tok-1"}, {"token": {"catalog": CATALOG}})
    expired = (401, {}, {"error": {"code": 401, "message": "expired"}})
    http = FakeHTTP(login, (200, {}, {"servers": []}), expired,
                    (201, {"X-Subject-Token": "tok-2"}, {"token": {"catalog": CATALOG}}),
                    (200, {}, {"servers": [1]}), expired, login, expired)
    sess = session.Session(_password_config(), opener=http)
    sess.compute("GET", "/servers")
    assert sess.compute("GET", "/servers").body == {"servers": [1]}
    assert http.requests[-1].get_header("X-auth-token") == "tok-2"
    with pytest.raises(session.ApiError, match="expired"):  # only once
        sess.compute("GET", "/servers")


def test_password_auth_without_a_compute_endpoint_fails_clearly():
    http = FakeHTTP((201, {"X-Subject-Token": "t"}, {"token": {"catalog": CATALOG}}))
    sess = session.Session(_password_config(), opener=http)
    sess.config = config.CloudConfig(auth_type="password", auth=sess.config.auth,
                                     interface="admin")
    with pytest.raises(session.ApiError, match="no admin compute endpoint"):
        sess.endpoints()


def test_bad_credentials_are_the_identity_services_message():
    http = FakeHTTP((401, {}, {"error": {"code": 401, "message": "Invalid credentials."}}))
    sess = session.Session(_password_config(), opener=http)
    with pytest.raises(session.ApiError) as exc:
        sess.compute("GET", "/servers")
    assert str(exc.value) == "Invalid credentials. (HTTP 401)"


def test_noauth_and_token_endpoints():
    cfg = config.CloudConfig(auth_type="noauth", auth={"endpoint": "http://api:8774/v2.1",
                                                       "user": "bob", "project": "p"})
    http = FakeHTTP((200, {}, {}), (204, {}, None))
    sess = session.Session(cfg, opener=http)
    sess.compute("GET", "/flavors")
    sess.image("DELETE", "/images/x")
    assert [r.full_url for r in http.requests] == ["http://api:8774/v2.1/flavors",
                                                  "http://api:8774/image/v2/images/x"]
    assert http.requests[0].get_header("X-auth-token") == "bob:p"
    cfg = config.CloudConfig(auth_type="token", auth={"endpoint": "http://api", "token": "T"})
    http = FakeHTTP((200, {}, {}))
    session.Session(cfg, opener=http).compute("GET", "/servers", microversion="2.1")
    assert http.requests[0].get_header("X-auth-token") == "T"
    assert http.requests[0].get_header("Openstack-api-version") == "compute 2.1"


@pytest.mark.parametrize("raw, message", [
    (b'{"badRequest": {"code": 400, "message": "Invalid input for field/attribute '
     b'flavorRef."}}', "Invalid input for field/attribute flavorRef."),
    (b'{"error": {"code": 401, "message": "Bad token", "title": "Unauthorized"}}',
     "Bad token"),
    (b"<html>\nProxy error\n</html>", "<html>"),
    (b"", "no message"),
])
def test_fault_messages(raw, message):
    assert session.fault_message(raw) == message


def test_redaction():
    assert session.redact_headers({"X-Auth-Token": "t", "Accept": "a"}) == {
        "X-Auth-Token": "***", "Accept": "a"}
    assert session.redact_body('{"password": "hunter2", "name": "x"}') == \
        '{"password": "***", "name": "x"}'


# --- output ------------------------------------------------------------------------

COLUMNS = [("ID", lambda x: x["id"]), ("Name", lambda x: x.get("name")),
           ("Meta", lambda x: x.get("meta"))]
ROWS = [{"id": "1", "name": "vm", "meta": {"b": 1}}, {"id": "22", "name": None}]


def _render(fmt="table", columns=(), items=ROWS, record=None):
    out = io.StringIO()
    printer = output.Output(fmt, columns, out)
    if record is not None:
        printer.record(record)
    else:
        printer.list(COLUMNS, items)
    return out.getvalue()


def test_table_output():
    lines = _render().splitlines()
    assert lines[1].split("|")[1:4] == [" ID ", " Name ", " Meta     "]
    assert lines[3].split("|")[1:4] == [" 1  ", " vm   ", ' {"b": 1} ']
    assert lines[4].split("|")[2].strip() == ""
    assert all(line == line.rstrip() for line in lines)


def test_json_and_value_output_and_columns():
    assert json.loads(_render("json")) == [{"ID": "1", "Name": "vm", "Meta": {"b": 1}},
                                           {"ID": "22", "Name": None, "Meta": None}]
    assert _render("value", ["name", "ID"]) == "vm 1\n 22\n"
    assert json.loads(_render("json", record={"id": "x", "status": "ACTIVE"})) == {
        "id": "x", "status": "ACTIVE"}
    assert _render("value", ["status"], record={"id": "x", "status": "ACTIVE"}) == "ACTIVE\n"


def test_unknown_column_is_an_error():
    with pytest.raises(output.CLIError, match="unknown column 'Nope'"):
        _render("table", ["Nope"])


def test_record_table_is_sorted_field_value():
    lines = _render(record={"status": "ACTIVE", "id": "x"}).splitlines()
    assert "Field" in lines[1] and "id" in lines[3] and "status" in lines[4]


# --- progress and live migration -------------------------------------------------------


def test_plain_progress_lines_only_on_change():
    out = io.StringIO()
    with progress.Progress("upload x", total=200, stream=out) as bar:
        bar.update(0, detail="0 B")
        bar.update(1, detail="0 B")
        bar.update(100, detail="100 B")
        bar.note("done")
    assert out.getvalue().splitlines() == ["upload x: 0% 0 B", "upload x: 50% 100 B", "done"]
    assert progress.size(512 * 1024 * 1024) == "512.0 MiB"
    assert progress.size(10) == "10 B" and progress.rate(None) == "-"


def test_terminal_progress_is_a_bar_with_notes_above():
    out = io.StringIO()
    with progress.Progress("live-migrate vm", total=100, stream=out, tty=True) as bar:
        bar.update(40, detail="running, downtime 50 ms")
        bar.note("decision: set_downtime(downtime_ms=50): first step")
    text = out.getvalue()
    assert "decision: set_downtime(downtime_ms=50): first step" in text
    assert "40%" in text and "running, downtime 50 ms" in text


DECISION = ("set_downtime(downtime_ms=440): predicted 400 ms fits [allowed_max_ms=500, "
            "bandwidth_bps=104857600, dirty_rate_bps=52428800, evidence=a, b, iteration=3, "
            "predicted_downtime_ms=400.0]")


def test_decision_details_are_parsed():
    decision = live.parse_decision(DECISION)
    assert decision["kind"] == "set_downtime" and decision["args"] == {"downtime_ms": 440}
    assert decision["figures"]["dirty_rate_bps"] == 52428800
    assert decision["figures"]["evidence"] == "a, b"
    assert live.parse_decision("destination compute2") is None
    assert live.describe_decision(DECISION, decision) == (
        "set_downtime(downtime_ms=440): predicted 400 ms fits (predicted downtime 400.0 ms, "
        "dirty 50.0 MiB/s, bandwidth 100.0 MiB/s, pass 3)")


def test_progress_figures():
    figures = live.Figures()
    assert figures.detail() == "accepted, dirty -, downtime -"
    figures.status = "running"
    figures.take_progress({"memory_processed_bytes": 256 << 20,
                           "memory_total_bytes": 512 << 20,
                           "memory_remaining_bytes": 256 << 20,
                           "disk_total_bytes": 0})
    figures.take_decision(live.parse_decision(DECISION))
    assert (figures.processed, figures.total, figures.done()) == (256 << 20, 512 << 20,
                                                                  256 << 20)
    assert figures.detail() == ("running, sent 256.0 MiB, remaining 256.0 MiB of 512.0 MiB, "
                                "dirty 50.0 MiB/s, downtime 440 ms")
    # Later passes send dirtied memory again: sent grows past the total,
    # the share done is what the current pass has left.
    figures.take_progress({"memory_processed_bytes": 2048 << 20,
                           "memory_total_bytes": 512 << 20,
                           "memory_remaining_bytes": 128 << 20})
    assert figures.done() == 384 << 20
    assert figures.detail().startswith("running, sent 2.0 GiB, remaining 128.0 MiB of ")
    assert figures.switch is None
    figures.take_decision(live.parse_decision("start_postcopy(): stuck [iteration=4]"))
    assert figures.switch == "switched to post-copy" and figures.downtime_ms == 440


# --- hosts and waiting -------------------------------------------------------------------------


def test_hosts_merge_services_and_hypervisors():
    services = [{"id": "s2", "host": "c2", "state": "down", "status": "disabled",
                 "disabled_reason": "maint", "forced_down": True, "zone": "nova"},
                {"id": "s1", "host": "c1", "state": "up", "status": "enabled"}]
    hypervisors = [{"service": {"host": "c1"}, "vcpus": 4, "vcpus_used": 1,
                    "running_vms": 1, "state": "up"}]
    rows = hosts.merge_hosts(services, hypervisors)
    assert [r["host"] for r in rows] == ["c1", "c2"]
    assert rows[0]["vcpus_used"] == 1 and rows[0]["service_id"] == "s1"
    assert rows[1]["disabled_reason"] == "maint" and "vcpus" not in rows[1]


class FakeApp:
    def __init__(self, servers, events=()):
        self.servers = list(servers)
        self.events = list(events)

    def get(self, path, params=None, microversion=None):
        if "os-instance-actions" in path:
            return {"instanceAction": {"events": self.events}}
        return {"server": self.servers.pop(0) if len(self.servers) > 1 else self.servers[0]}


def _server(status, task=None, **extra):
    return {"id": "u", "name": "vm", "status": status, "OS-EXT-STS:task_state": task,
            **extra}


def test_wait_shows_transitions_and_ends_at_the_expected_status():
    app = FakeApp([_server("ACTIVE", "resize_prep"), _server("RESIZE", "resize_prep"),
                   _server("RESIZE", "resize_prep"), _server("VERIFY_RESIZE")])
    lines = []
    done = waiters.wait_for_status(app, "u", ("VERIFY_RESIZE",), 60, echo=lines.append,
                                   sleep=lambda s: None)
    assert done["status"] == "VERIFY_RESIZE"
    assert lines == ["server vm: ACTIVE (resize_prep)", "server vm: RESIZE (resize_prep)",
                     "server vm: VERIFY_RESIZE"]


def test_wait_fails_with_the_recorded_reason():
    app = FakeApp([_server("ACTIVE")], events=[
        {"event": "conductor_migrate_server", "result": "Error",
         "details": "No valid host was found."}])
    with pytest.raises(output.CLIError) as exc:
        waiters.wait_for_status(app, "u", ("VERIFY_RESIZE",), 60, request_id="req-1",
                                echo=lambda line: None, sleep=lambda s: None)
    assert str(exc.value.message) == ("server u is ACTIVE, not VERIFY_RESIZE: "
                                      "conductor_migrate_server: No valid host was found.")
    app = FakeApp([_server("ERROR", fault={"message": "boom"})])
    with pytest.raises(output.CLIError, match="went to ERROR: boom"):
        waiters.wait_for_status(app, "u", ("ACTIVE",), 60, echo=lambda line: None,
                                sleep=lambda s: None)


def test_wait_times_out():
    now = [0.0]
    app = FakeApp([_server("BUILD", "spawning")])

    def sleep(seconds):
        now[0] += seconds

    with pytest.raises(output.CLIError, match="still BUILD after 5s"):
        waiters.wait_for_status(app, "u", ("ACTIVE",), 5, echo=lambda line: None,
                                sleep=sleep, clock=lambda: now[0])


# --- the program ------------------------------------------------------------------------------


@pytest.fixture
def bare_env(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("OS_") or key.startswith("VMCTL_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)


def test_no_configuration_is_one_error_line(bare_env, capsys):
    assert cli.main(["server", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vmctl: error: no cloud configured") and err.count("\n") == 1


def test_unreachable_api_is_one_error_line(bare_env, capsys):
    code = cli.main(["--os-endpoint", "http://127.0.0.1:9", "--os-auth-type", "noauth",
                     "flavor", "list"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("vmctl: error: cannot reach http://127.0.0.1:9/")
    assert err.count("\n") == 1


@pytest.mark.parametrize("argv", [["bogus"], ["server", "create", "vm"],
                                  ["server", "list", "-f", "xml"], ["migration", "list",
                                                                    "--type", "teleport"]])
def test_usage_errors_exit_2(bare_env, argv, capsys):
    assert cli.main(argv) == 2
    assert "Error:" in capsys.readouterr().err


def test_help_needs_no_configuration(bare_env, capsys):
    assert cli.main(["server", "live-migrate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--block-auto" in out and "--wait" in out


def test_bad_property_is_a_usage_error(bare_env, capsys):
    code = cli.main(["--os-endpoint", "http://127.0.0.1:9", "flavor", "create", "f",
                     "--property", "novalue"])
    assert code == 2 and "expected KEY=VALUE" in capsys.readouterr().err


def test_image_upload_takes_the_disk_format_the_header_names(tmp_path):
    def made(fmt, name):
        path = str(tmp_path / name)
        subprocess.run(["qemu-img", "create", "-q", "-f", fmt, path, "1M"], check=True)
        return path

    raw = tmp_path / "disk.img"
    raw.write_bytes(os.urandom(4096))
    assert cli_images.detected_disk_format(str(raw)) == "raw"
    assert cli_images.detected_disk_format(made("qcow2", "disk.qcow2")) == "qcow2"
    with pytest.raises(output.CLIError, match="vhd image"):
        cli_images.detected_disk_format(made("vpc", "disk.vhd"))
    backed = str(tmp_path / "backed.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                    made("qcow2", "base.qcow2"), backed], check=True)
    with pytest.raises(output.CLIError, match="cannot be uploaded"):
        cli_images.detected_disk_format(backed)
