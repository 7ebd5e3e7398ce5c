"""The vmctl CLI's pure logic: tables, argument parsing, error lines."""

import io
import json

import pytest

from vmctl.cmd import cli


def test_table_is_bordered_and_aligned():
    table = cli.format_table(["ID", "Name"], [["1", "m1.tiny"], ["22", None]])
    assert table.splitlines() == [
        "+----+---------+",
        "| ID | Name    |",
        "+----+---------+",
        "| 1  | m1.tiny |",
        "| 22 |         |",
        "+----+---------+",
    ]


def test_table_without_rows_still_has_headers():
    assert cli.format_table(["ID"], []).splitlines()[1] == "| ID |"


def test_cells_render_json_for_structures():
    assert cli.cell({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'
    assert cli.cell(True) == "True"
    assert cli.cell(0) == "0"
    assert cli.cell(None) == ""


def test_record_is_sorted_field_value_table():
    lines = cli.format_record({"status": "ACTIVE", "id": "x"}).splitlines()
    assert lines[1].split() == ["|", "Field", "|", "Value", "|"]
    assert "id" in lines[3] and "status" in lines[4]


def test_server_columns_use_embedded_flavor_name_or_id():
    row = {"id": "u", "name": "vm", "status": "ACTIVE", "OS-EXT-SRV-ATTR:host": "c1",
           "flavor": {"original_name": "m1.tiny"}, "image": {"id": "cirros"}}
    table = cli.list_table(cli.SERVER_COLUMNS, [row])
    assert "| u  | vm   | ACTIVE |            | c1   | m1.tiny | cirros |" in table
    assert cli.server_flavor({"flavor": {"id": "3"}}) == "3"
    assert cli.server_flavor({}) == ""


def test_hypervisor_usage_columns_only_when_present():
    old = [{"id": 1, "vcpus": 4, "vcpus_used": 1}]
    assert cli.hypervisor_columns(old)[-1][0] == "VMs"
    assert cli.hypervisor_columns([{"id": "u"}]) == cli.HYPERVISOR_COLUMNS


@pytest.mark.parametrize("argv, func", [
    (["server", "list"], cli.server_list),
    (["server", "show", "abc"], cli.server_show),
    (["server", "create", "vm", "--flavor", "m1.tiny", "--image", "i"], cli.server_create),
    (["server", "delete", "abc"], cli.server_delete),
    (["flavor", "list"], cli.flavor_list),
    (["service", "list"], cli.service_list),
    (["hypervisor", "list"], cli.hypervisor_list),
])
def test_commands_parse(argv, func):
    assert cli.build_parser({}).parse_args(argv).func is func


def test_defaults_come_from_the_environment():
    args = cli.build_parser({"VMCTL_URL": "http://h:1", "VMCTL_TOKEN": "u:p"}).parse_args(
        ["server", "list"])
    assert (args.url, args.token, args.json) == ("http://h:1", "u:p", False)
    args = cli.build_parser({}).parse_args(["flavor", "list"])
    assert (args.url, args.token) == (cli.DEFAULT_URL, cli.DEFAULT_TOKEN)
    assert args.api_version == cli.DEFAULT_API_VERSION


@pytest.mark.parametrize("argv", [["--json", "server", "list"], ["server", "list", "--json"]])
def test_json_flag_before_or_after_the_command(argv):
    assert cli.build_parser({}).parse_args(argv).json is True


def test_create_options():
    args = cli.build_parser({}).parse_args(
        ["server", "create", "vm", "--flavor", "2", "--image", "img", "--wait"])
    assert (args.name, args.flavor, args.image, args.wait) == ("vm", "2", "img", True)


@pytest.mark.parametrize("argv", [[], ["server"], ["server", "create", "vm"], ["bogus"]])
def test_usage_errors_are_one_line_and_exit_1(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.build_parser({}).parse_args(argv)
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "error:" in err


def test_client_url_ends_in_v21():
    assert cli.Client("http://h:8774/", "t", "2.1").base == "http://h:8774/v2.1"
    assert cli.Client("http://h/v2.1", "t", "2.1").base == "http://h/v2.1"


def test_error_message_reads_nova_shaped_bodies():
    body = json.dumps({"itemNotFound": {"code": 404, "message": "Instance x not found."}})
    assert cli.error_message(404, body.encode()) == "404 itemNotFound: Instance x not found."
    assert cli.error_message(502, b"Bad gateway\nmore") == "HTTP 502: Bad gateway"
    assert cli.error_message(500, b"") == "HTTP 500"


class FakeClient:
    def __init__(self, replies):
        self.replies = list(replies)
        self.calls = []

    def get(self, path):
        self.calls.append(("GET", path))
        return self.replies.pop(0)

    def post(self, path, body):
        self.calls.append(("POST", path, body))
        return self.replies.pop(0)


def test_flavor_resolved_by_name_then_id():
    flavors = {"flavors": [{"id": "1", "name": "m1.tiny"}, {"id": "2", "name": "1"}]}
    assert cli.resolve_flavor(FakeClient([flavors]), "1") == "2"  # names win
    assert cli.resolve_flavor(FakeClient([flavors]), "m1.tiny") == "1"
    with pytest.raises(cli.CLIError, match="no flavor"):
        cli.resolve_flavor(FakeClient([flavors]), "m9")


def test_wait_stops_on_error_with_the_fault():
    client = FakeClient([{"server": {"status": "BUILD"}},
                         {"server": {"status": "ERROR", "fault": {"message": "No valid host"}}}])
    with pytest.raises(cli.CLIError, match="ERROR: No valid host"):
        cli.wait_for_server(client, "u", ("ACTIVE",), 10, sleep=lambda s: None)


def test_wait_times_out():
    ticks = iter([0, 5, 11])
    client = FakeClient([{"server": {"status": "BUILD"}}] * 3)
    with pytest.raises(cli.CLIError, match="still BUILD after 10"):
        cli.wait_for_server(client, "u", ("ACTIVE",), 10, clock=lambda: next(ticks),
                            sleep=lambda s: None)


def test_main_reports_unreachable_api_in_one_line():
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--url", "http://127.0.0.1:1", "flavor", "list"], environ={},
                    stdout=out, stderr=err)
    assert code == 1
    assert err.getvalue().startswith("vmctl: error: cannot reach http://127.0.0.1:1/v2.1")
    assert err.getvalue().count("\n") == 1 and out.getvalue() == ""
