"""Plain stand-ins for rows and requests, for view and policy tests."""

import datetime
import types

from vmctl.api import microversion as mv

NOW = datetime.datetime(2024, 1, 2, 3, 4, 5, 678000)


class FakeApi:
    base_url = "http://api"

    def __init__(self, version="2.1"):
        self.version = mv.parse(version)

    def links(self, collection, item_id):
        return [{"rel": "self", "href": "%s/v2.1/%s/%s" % (self.base_url, collection, item_id)},
                {"rel": "bookmark", "href": "%s/%s/%s" % (self.base_url, collection, item_id)}]


def instance(**kw):
    values = dict(
        id=42, uuid="u-1", display_name="My Server", project_id="p1",
        user_id="bob", reservation_id="r-abcdefgh", launch_index=0,
        vm_state="active", task_state=None, power_state=1, host="cn1",
        node="cn1.local", availability_zone="az1", image_ref="img",
        metadata_={"k": "v"}, launched_at=NOW, terminated_at=None,
        created_at=NOW, updated_at=None,
        flavor={"flavorid": "1", "name": "m1.tiny", "vcpus": 1,
                "memory_mb": 512, "root_gb": 1, "ephemeral_gb": 0, "swap": 0,
                "extra_specs": {"hw:cpu_policy": "shared"}})
    values.update(kw)
    return types.SimpleNamespace(**values)


def fault(code=500, details="Traceback\nValueError: boom"):
    return types.SimpleNamespace(code=code, message="boom", details=details,
                                 created_at=NOW)
