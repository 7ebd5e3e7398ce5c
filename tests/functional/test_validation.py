"""Malformed create requests: 400 naming the field, and nothing written."""

import pytest

from vmctl.db import models

GOOD = {"name": "ok", "flavorRef": "1", "imageRef": "img"}


def _with(**changes):
    server = dict(GOOD)
    for key, value in changes.items():
        if value is _DROP:
            server.pop(key)
        else:
            server[key] = value
    return {"server": server}


_DROP = object()

CASES = [
    # (id, body, words the message must contain)
    ("unknown-flavor", _with(flavorRef="no-such-flavor"), ["no-such-flavor"]),
    ("min-count-zero", _with(min_count=0), ["min_count"]),
    ("min-count-negative", _with(min_count=-1), ["min_count"]),
    ("max-count-zero", _with(max_count=0), ["max_count"]),
    ("max-count-negative", _with(max_count=-5), ["max_count"]),
    ("max-count-huge", _with(max_count=10 ** 6), ["max_count"]),
    ("min-count-huge", _with(min_count=10 ** 6, max_count=10 ** 6), ["min_count"]),
    ("min-greater-than-max", _with(min_count=3, max_count=2), ["min_count", "max_count"]),
    ("name-too-long", _with(name="x" * 256), ["name"]),
    ("name-missing", _with(name=_DROP), ["name"]),
    ("flavor-missing", _with(flavorRef=_DROP), ["flavorRef"]),
    ("image-missing", _with(imageRef=_DROP), ["imageRef"]),
    ("unknown-server-field", _with(colour="blue"), ["colour"]),
    ("name-wrong-type", _with(name=42), ["name"]),
    ("min-count-wrong-type", _with(min_count="many"), ["min_count"]),
    ("max-count-wrong-type", _with(max_count=[2]), ["max_count"]),
    ("metadata-wrong-type", _with(metadata=["a"]), ["metadata"]),
    ("flavor-wrong-type", _with(flavorRef={"id": "1"}), ["flavorRef"]),
    ("reservation-wrong-type", _with(return_reservation_id="perhaps"),
     ["return_reservation_id"]),
    ("unknown-top-level-field", {"server": dict(GOOD), "extra": 1}, ["extra"]),
    ("server-not-object", {"server": "vm"}, ["server"]),
    ("server-missing", {"servers": [GOOD]}, ["server"]),
]


def _counts(cloud):
    import sqlalchemy as sa

    with cloud.db().reader() as session:
        return (session.scalar(sa.select(sa.func.count()).select_from(models.Instance)),
                session.scalar(sa.select(sa.func.count()).select_from(models.InstanceAction)))


@pytest.mark.parametrize("body,words", [pytest.param(b, w, id=i) for i, b, w in CASES])
def test_invalid_create_is_a_400_naming_the_field(cloud, body, words):
    api = cloud.api()
    before = _counts(cloud)
    resp = api.post("servers", json=body)
    assert resp.status_code == 400, resp.text
    message = resp.json()["badRequest"]["message"]
    for word in words:
        assert word in message, message
    assert _counts(cloud) == before


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"server": {"name": "a",}}', b"[]",
                                 b"null"])
def test_malformed_json_is_a_400(cloud, raw):
    api = cloud.api()
    before = _counts(cloud)
    resp = api.post("servers", data=raw, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["badRequest"]["message"]
    assert _counts(cloud) == before


def test_a_valid_request_still_works_after_all_that(cloud):
    api = cloud.api()
    server = api.create_server("valid", min_count=2, max_count=2)
    server = api.wait_for_status(server["id"], "ACTIVE")
    cloud.delete_all_servers()
