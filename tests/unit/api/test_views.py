import hashlib
import types

from tests.unit.api import fakes
from vmctl import instance_states as states
from vmctl.api.views import flavors as flavor_views
from vmctl.api.views import instance_actions as action_views
from vmctl.api.views import servers as server_views
from vmctl.api.views import services as service_views


def _detail(version="2.1", extended=False, fault_details=False, **kw):
    view = server_views.DetailView(fakes.FakeApi(version), extended, fault_details)
    fault = kw.pop("fault", None)
    return view(fakes.instance(**kw), fault)


def test_host_id_like_nova():
    expected = hashlib.sha224(b"p1cn1").hexdigest()
    assert server_views.host_id("p1", "cn1") == expected
    assert server_views.host_id("p1", None) == ""


def test_detail_basics():
    server = _detail()
    assert server["status"] == "ACTIVE"
    assert server["tenant_id"] == "p1"
    assert server["created"] == "2024-01-02T03:04:05Z"
    assert server["updated"] == server["created"]
    assert server["flavor"] == {"id": "1", "links": [
        {"rel": "bookmark", "href": "http://api/flavors/1"}]}
    assert server["image"]["id"] == "img"
    assert server["OS-EXT-STS:power_state"] == 1
    assert "OS-EXT-SRV-ATTR:host" not in server
    assert "locked" not in server


def test_embedded_flavor_from_247():
    flavor = _detail("2.47")["flavor"]
    assert flavor == {"original_name": "m1.tiny", "vcpus": 1, "ram": 512,
                      "disk": 1, "ephemeral": 0, "swap": 0,
                      "extra_specs": {"hw:cpu_policy": "shared"}}
    assert "id" in _detail("2.46")["flavor"]


def test_extended_attributes_for_admin():
    server = _detail("2.3", extended=True)
    assert server["OS-EXT-SRV-ATTR:host"] == "cn1"
    assert server["OS-EXT-SRV-ATTR:instance_name"] == "instance-0000002a"
    assert server["OS-EXT-SRV-ATTR:reservation_id"] == "r-abcdefgh"
    assert server["OS-EXT-SRV-ATTR:hostname"] == "my-server"
    assert "OS-EXT-SRV-ATTR:reservation_id" not in _detail("2.1", extended=True)


def test_versioned_fields():
    latest = _detail("2.88")
    assert latest["locked"] is False
    assert latest["description"] is None
    assert latest["tags"] == []
    assert latest["locked_reason"] is None
    assert "locked_reason" not in _detail("2.72")


def test_fault_only_in_error_and_details_only_for_admin():
    assert "fault" not in _detail(fault=fakes.fault())
    fault = _detail(vm_state="error", fault=fakes.fault())["fault"]
    assert fault == {"code": 500, "message": "boom", "created": "2024-01-02T03:04:05Z"}
    admin = _detail(vm_state="error", fault=fakes.fault(), fault_details=True)
    assert "ValueError" in admin["fault"]["details"]
    non_500 = _detail(vm_state="error", fault=fakes.fault(code=400, details="why"))
    assert non_500["fault"]["details"] == "why"


def test_status_mapping_through_view():
    assert _detail(vm_state="building", task_state="scheduling")["status"] == "BUILD"
    assert _detail(task_state=states.REBOOTING_HARD)["status"] == "HARD_REBOOT"
    assert _detail(vm_state="stopped")["status"] == "SHUTOFF"
    assert _detail(task_state=states.DELETING)["status"] == "ACTIVE"


def _flavor_row(**kw):
    values = dict(flavorid="1", name="m1", memory_mb=512, vcpus=1, root_gb=1,
                  ephemeral_gb=0, swap=0, rxtx_factor=1.0, is_public=True,
                  disabled=False, description="d", extra_specs=[])
    values.update(kw)
    return types.SimpleNamespace(**values)


def test_flavor_swap_and_description():
    old = flavor_views.detail(fakes.FakeApi("2.1"), _flavor_row())
    assert old["swap"] == "" and "description" not in old
    new = flavor_views.detail(fakes.FakeApi("2.75"), _flavor_row())
    assert new["swap"] == 0 and new["description"] == "d"
    assert flavor_views.detail(fakes.FakeApi("2.1"), _flavor_row(swap=512))["swap"] == 512


def test_flavor_extra_specs_from_261():
    spec = types.SimpleNamespace(key="a", value="b")
    row = _flavor_row(extra_specs=[spec])
    assert "extra_specs" not in flavor_views.detail(fakes.FakeApi("2.60"), row, True)
    assert flavor_views.detail(fakes.FakeApi("2.61"), row, True)["extra_specs"] == {"a": "b"}
    assert "extra_specs" not in flavor_views.detail(fakes.FakeApi("2.61"), row, False)


def _node():
    return types.SimpleNamespace(
        id=1, uuid="n-uuid", hypervisor_hostname="cn1.local", host="cn1",
        hypervisor_type="fake", hypervisor_version=1, host_ip="10.0.0.1",
        vcpus=8, memory_mb=1024, local_gb=10, vcpus_used=1, memory_mb_used=256,
        local_gb_used=1, running_vms=1)


def _svc():
    return types.SimpleNamespace(id=3, uuid="s-uuid", disabled=True,
                                 disabled_reason="maint")


def test_hypervisor_usage_dropped_from_288():
    old = service_views.hypervisor_detail(fakes.FakeApi("2.87"), _node(), _svc(), True)
    assert old["vcpus"] == 8 and old["free_ram_mb"] == 768 and old["id"] == "n-uuid"
    assert old["status"] == "disabled" and old["state"] == "up"
    new = service_views.hypervisor_detail(fakes.FakeApi("2.88"), _node(), _svc(), True,
                                          show=True)
    assert "vcpus" not in new and "running_vms" not in new and "uptime" in new
    assert new["service"] == {"host": "cn1", "id": "s-uuid", "disabled_reason": "maint"}
    legacy = service_views.hypervisor_summary(fakes.FakeApi("2.52"), _node(), None, False)
    assert legacy == {"id": 1, "hypervisor_hostname": "cn1.local", "state": "down",
                      "status": "enabled"}


def _event(**kw):
    values = dict(event="compute_build", start_time=fakes.NOW, finish_time=None,
                  result=None, host="cn1", details="Traceback\n  ...\nError: x")
    values.update(kw)
    return types.SimpleNamespace(**values)


def test_event_fields_by_version_and_role():
    old = action_views.event(fakes.FakeApi("2.1"), _event(), "p1", show_details=False)
    assert old == {"event": "compute_build", "start_time": "2024-01-02T03:04:05.678000",
                   "finish_time": None, "result": None}
    admin = action_views.event(fakes.FakeApi("2.84"), _event(), "p1", show_details=True)
    assert admin["traceback"].startswith("Traceback")
    assert admin["host"] == "cn1"
    assert admin["hostId"] == server_views.host_id("p1", "cn1")
    assert admin["details"] == "Error: x"
    user = action_views.event(fakes.FakeApi("2.84"), _event(), "p1", show_details=False)
    assert "traceback" not in user and "host" not in user and "hostId" in user
