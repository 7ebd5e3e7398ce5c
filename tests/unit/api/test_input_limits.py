"""Pure logic of the API's own protections (issue 21): the body limit
middleware, JSON checks, log escaping, patterns and the auth throttle.
The daemons are exercised in tests/functional/security/."""

import io
import logging
import re

import pytest
import webob

from vmctl.api import errors
from vmctl.api import jsonbody
from vmctl.api import limits
from vmctl.api import middleware
from vmctl.api import openapi
from vmctl.api.schemas import parameter_types
from vmctl.identity import guard


class _Conf:
    class api:
        max_request_body_size = 1024
        threads = 2


def _seen_body(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d" % len(body)]


def _call(method, path, body=b"", **environ):
    req = webob.Request.blank(path, method=method)
    req.environ["wsgi.input"] = io.BytesIO(body)
    req.environ["CONTENT_LENGTH"] = str(len(body))
    req.environ.update(environ)
    return req.get_response(limits.LimitsMiddleware(_seen_body, _Conf))


def test_a_body_over_the_limit_is_a_413_before_reading():
    resp = _call("POST", "/v2.1/servers", CONTENT_LENGTH="2147483648")
    assert resp.status_int == 413 and resp.json["overLimit"]["code"] == 413
    assert _call("POST", "/v2.1/servers", b"x" * 1024).body == b"1024"


def test_a_chunked_body_is_cut_at_the_limit():
    resp = _call("POST", "/v2.1/servers", b"x" * 2000, CONTENT_LENGTH="",
                 HTTP_TRANSFER_ENCODING="chunked")
    assert resp.status_int == 413
    resp = _call("POST", "/v2.1/servers", b"x" * 100, CONTENT_LENGTH="",
                 HTTP_TRANSFER_ENCODING="chunked")
    assert resp.body == b"100"


def test_image_data_is_not_limited_here():
    assert limits.streams_body("PUT", "/image/v2/images/abc/file")
    assert not limits.streams_body("POST", "/v2.1/servers")
    resp = _call("PUT", "/image/v2/images/abc/file", b"x" * 5000)
    assert resp.body == b"5000"


def test_a_malformed_or_short_body_is_a_400():
    assert _call("POST", "/v2.1/servers", CONTENT_LENGTH="-1").status_int == 400
    assert _call("POST", "/v2.1/servers", b"abc", CONTENT_LENGTH="10").status_int == 400


@pytest.mark.parametrize("raw", ["[" * 100 + "]" * 100, "[" * 100000 + "]" * 100000,
                                 '{"a": "\\ud800"}', '{"\\udfff": 1}', "{"])
def test_pathological_json_is_a_bad_request(raw):
    with pytest.raises(errors.BadRequest):
        jsonbody.parse_json(raw)


def test_reasonable_json_passes():
    doc = {"a": [{"b": {"c": ["é", 1, None]}}]}
    assert jsonbody.parse_json('{"a": [{"b": {"c": ["\\u00e9", 1, null]}}]}') == doc
    jsonbody.refuse_too_deep("not json")  # the handler answers that one
    with pytest.raises(errors.BadRequest):
        jsonbody.refuse_too_deep("[" * 100000)


def test_control_characters_are_escaped_in_log_messages(caplog):
    assert middleware.escape_control("a\nb\x00c\x85\u2028é") == "a\\x0ab\\x00c\\x85\\u2028é"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "GET %s", ("/a\r\nforged",),
                               None)
    middleware.ControlCharFilter().filter(record)
    assert record.getMessage() == "GET /a\\x0d\\x0aforged"


def _patterns(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "pattern" and isinstance(item, str):
                yield item
            elif key == "patternProperties":
                yield from item
                for sub in item.values():
                    yield from _patterns(sub)
            else:
                yield from _patterns(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _patterns(item)


def test_no_schema_pattern_is_anchored_with_a_dollar():
    from vmctl.api.schemas import aggregates
    from vmctl.api.schemas import flavor_extra_specs
    from vmctl.api.schemas import flavors
    from vmctl.api.schemas import images
    from vmctl.api.schemas import server_actions
    from vmctl.api.schemas import servers
    from vmctl.identity import schemas as identity_schemas

    found = []
    for module in (aggregates, flavor_extra_specs, flavors, images, server_actions, servers,
                   parameter_types, identity_schemas):
        found += [p for p in _patterns(vars(module)) if p.endswith("$")]
    found += [p for p in _patterns(servers.create(10, True, True)) if p.endswith("$")]
    assert found == []


@pytest.mark.parametrize("name,ok", [("web-1", True), ("émile's server", True),
                                     ("a\x00b", False), ("x\n", False), ("\x1b[31m", False),
                                     ("c1\x9f", False), ("   ", False), (" padded ", True)])
def test_names_follow_novas_rules(name, ok):
    assert bool(re.search(parameter_types.NAME_PATTERN, name)) is ok


def test_openapi_patterns_use_ecmascripts_end_anchor():
    schema = {"pattern": r"^a\Z", "patternProperties": {r"^k\Z": {"pattern": r"^(?!\s*\Z)x"}}}
    assert openapi.to_openapi(schema) == {
        "pattern": "^a$", "patternProperties": {"^k$": {"pattern": r"^(?!\s*$)x"}}}


def test_the_throttle_holds_a_failing_source_until_a_failure_drains():
    now = [0.0]
    throttle = guard.SourceThrottle(burst=3, interval=10, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("a") == 0
        throttle.failed("a")
    assert throttle.retry_after("a") == 10
    assert throttle.retry_after("b") == 0
    now[0] = 10.0
    assert throttle.retry_after("a") == 0


def test_no_throttle_when_off():
    throttle = guard.SourceThrottle(burst=0, interval=10)
    for _ in range(100):
        throttle.failed("a")
    assert throttle.retry_after("a") == 0
