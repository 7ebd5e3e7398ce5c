"""Response shapes and query rules of the negotiated microversions that the
other API tests do not cover: instance action paging (2.58, 2.66) and
os-migrations filters (2.66, 2.80)."""

from tests.unit.api.test_app import _create
from tests.unit.api.test_app import env  # noqa: F401  (fixture)
from vmctl.db import migration_records as db_migrations

ADMIN = "admin:admin"


def _actions(call, server_id, query="", version="2.58"):
    return call("GET", "/v2.1/servers/%s/os-instance-actions%s" % (server_id, query),
                token=ADMIN, version=version)


def test_instance_actions_paging_from_2_58(env):  # noqa: F811
    call, _, _ = env
    server_id = _create(call)[1]["server"]["id"]
    _, old = _actions(call, server_id, version="2.57")
    assert "updated_at" not in old["instanceActions"][0] and "links" not in old
    resp, page = _actions(call, server_id, "?limit=1")
    assert resp.status_int == 200
    assert len(page["instanceActions"]) == 1 and "updated_at" in page["instanceActions"][0]
    assert "marker=" in page["links"][0]["href"]
    marker = page["instanceActions"][0]["request_id"]
    _, rest = _actions(call, server_id, "?marker=" + marker)
    assert rest["instanceActions"] == []
    assert _actions(call, server_id, "?marker=nope")[0].status_int == 400
    _, future = _actions(call, server_id, "?changes-since=2999-01-01T00:00:00Z")
    assert future["instanceActions"] == []


def test_changes_before_from_2_66(env):  # noqa: F811
    call, _, _ = env
    server_id = _create(call)[1]["server"]["id"]
    query = "?changes-before=2000-01-01T00:00:00Z"
    _, ignored = _actions(call, server_id, query, version="2.65")
    assert len(ignored["instanceActions"]) == 1
    _, honoured = _actions(call, server_id, query, version="2.66")
    assert honoured["instanceActions"] == []
    bad = "?changes-since=2020-01-02T00:00:00Z&changes-before=2020-01-01T00:00:00Z"
    assert _actions(call, server_id, bad, version="2.66")[0].status_int == 400
    resp = call("GET", "/v2.1/os-migrations" + bad, token=ADMIN, version="2.66")[0]
    assert resp.status_int == 400


def test_migration_user_and_project_filters_from_2_80(env):  # noqa: F811
    call, _, db = env
    server_id = _create(call)[1]["server"]["id"]
    with db.transaction() as session:
        for user in ("bob", "eve"):
            db_migrations.create(session, {
                "uuid": "%s-0000-0000-0000-000000000000" % user.ljust(8, "0"),
                "instance_uuid": server_id, "migration_type": "migration",
                "status": "finished", "user_id": user, "project_id": "p1"})

    def users(version, query="?user_id=eve"):
        _, body = call("GET", "/v2.1/os-migrations" + query, token=ADMIN, version=version)
        return sorted(m.get("user_id", "-") for m in body["migrations"])

    assert users("2.80") == ["eve"]
    assert users("2.80", "?project_id=p1") == ["bob", "eve"]
    assert users("2.79") == ["-", "-"]   # no filter, no field before 2.80


def test_hypervisor_pattern_and_servers_from_2_53(env):  # noqa: F811
    from vmctl.db import compute_nodes as db_nodes
    from vmctl.db import instances as db_instances
    from vmctl.db import services as db_services

    call, _, db = env
    server_id = _create(call)[1]["server"]["id"]
    with db.transaction() as session:
        for host in ("cn1", "cn2"):
            db_services.register(session, host, "vmctl-compute", "vmctl-compute")
            db_nodes.update_inventory(session, host, host + ".node", {
                "hypervisor_type": "fake", "vcpus": 4, "memory_mb": 4096, "local_gb": 40})
        db_instances.compare_and_swap(session, server_id, {"host": "cn1",
                                                           "node": "cn1.node"})

    def hypervisors(query, version="2.53", path="/os-hypervisors"):
        return call("GET", "/v2.1" + path + query, token=ADMIN, version=version)

    _, found = hypervisors("?hypervisor_hostname_pattern=cn2")
    assert [h["hypervisor_hostname"] for h in found["hypervisors"]] == ["cn2.node"]
    assert hypervisors("?hypervisor_hostname_pattern=nope")[0].status_int == 404
    _, old = hypervisors("?hypervisor_hostname_pattern=nope", version="2.52")
    assert len(old["hypervisors"]) == 2            # ignored before 2.53
    _, listed = hypervisors("?with_servers=true", path="/os-hypervisors/detail")
    by_name = {h["hypervisor_hostname"]: h for h in listed["hypervisors"]}
    assert [s["uuid"] for s in by_name["cn1.node"]["servers"]] == [server_id]
    assert "servers" not in by_name["cn2.node"]
    node_id = by_name["cn1.node"]["id"]
    _, shown = hypervisors("?with_servers=1", path="/os-hypervisors/" + node_id)
    assert shown["hypervisor"]["servers"][0]["uuid"] == server_id
    _, plain = hypervisors("", path="/os-hypervisors/" + node_id)
    assert "servers" not in plain["hypervisor"]
