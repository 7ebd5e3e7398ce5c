"""Boot and delete on MariaDB and PostgreSQL: the same cloud, a server DB."""

import pytest

from tests.functional.conftest import server_db_url


@pytest.fixture(scope="module", params=[
    pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("postgresql", marks=pytest.mark.postgresql),
])
def db_cloud(request, cloud_factory):
    return cloud_factory("cloud-%s" % request.param, computes=3,
                         db_url=server_db_url(request.param))


def test_boot_and_delete(db_cloud):
    api = db_cloud.api()
    ids = [api.create_server("db-%d" % i)["id"] for i in range(6)]
    body = api.create_server("many", min_count=6, max_count=6, return_reservation_id=True)
    assert body["reservation_id"]
    ids += [s["id"] for s in api.get("servers", params={"name": "many-"}).json()["servers"]]
    assert len(ids) == 12
    hosts = {api.wait_for_status(i, "ACTIVE")["OS-EXT-SRV-ATTR:host"] for i in ids}
    assert hosts == {"compute1", "compute2", "compute3"}
    db_cloud.check_invariants()
    for server_id in ids:
        assert api.delete("servers/%s" % server_id).status_code == 204
    for server_id in ids:
        api.wait_for_deleted(server_id)
    for host in hosts:
        assert db_cloud.fake_guests(host) == {}
