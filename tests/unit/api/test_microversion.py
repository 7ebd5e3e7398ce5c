import pytest

from vmctl.api import errors
from vmctl.api import microversion as mv


def _constants():
    return {name: value for name, value in vars(mv).items()
            if name.isupper() and isinstance(value, str) and value[:2] == "2."}


def test_versions_sorted_and_unique():
    parsed = [mv.parse(v) for v in mv.VERSIONS]
    assert parsed == sorted(parsed)
    assert len(set(parsed)) == len(parsed)


def test_every_named_constant_is_in_the_list():
    listed = set(mv.VERSIONS)
    missing = {n: v for n, v in _constants().items() if v not in listed}
    assert missing == {}
    # and every listed version has a name (no bare literals)
    assert listed <= set(_constants().values())


def test_window():
    assert mv.MIN_VERSION == "2.1"
    assert mv.min_version() <= mv.max_version()
    assert mv.MAX_VERSION == mv.VERSIONS[-1]


@pytest.mark.parametrize("text,expected", [("2.1", (2, 1)), ("2.10", (2, 10)),
                                           (" 2.88 ", (2, 88))])
def test_parse(text, expected):
    assert mv.parse(text) == expected


@pytest.mark.parametrize("text", ["2", "2.x", "v2.1", "2.01", "", "2.1.1"])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        mv.parse(text)


def test_ordering_is_numeric_not_textual():
    assert mv.parse("2.10") > mv.parse("2.9")
    assert mv.parse("2.47").matches(mv.SERVER_EMBEDDED_FLAVOR)
    assert not mv.parse("2.46").matches(mv.SERVER_EMBEDDED_FLAVOR)


def test_no_header_is_minimum():
    assert mv.negotiate({}) == mv.min_version()


def test_latest_is_maximum():
    assert mv.negotiate({mv.HEADER: "compute latest"}) == mv.max_version()
    assert mv.negotiate({mv.LEGACY_HEADER: "latest"}) == mv.max_version()


def test_new_header_wins_over_legacy():
    headers = {mv.HEADER: "compute 2.53", mv.LEGACY_HEADER: "2.3"}
    assert mv.negotiate(headers) == (2, 53)


def test_other_services_ignored():
    headers = {mv.HEADER: "placement 1.30, compute 2.9", mv.LEGACY_HEADER: "2.3"}
    assert mv.negotiate(headers) == (2, 9)
    assert mv.negotiate({mv.HEADER: "volume 3.5"}) == mv.min_version()


@pytest.mark.parametrize("value", ["2.0", "3.0", "2.999"])
def test_out_of_range_is_406(value):
    with pytest.raises(errors.NotAcceptable) as caught:
        mv.negotiate({mv.HEADER: "compute " + value})
    assert caught.value.code == 406
    assert value in caught.value.message


def test_malformed_is_400():
    with pytest.raises(errors.BadRequest):
        mv.negotiate({mv.LEGACY_HEADER: "two"})


def test_response_headers():
    headers = mv.response_headers(mv.parse("2.47"))
    assert headers == {"OpenStack-API-Version": "compute 2.47",
                       "X-OpenStack-Nova-API-Version": "2.47",
                       "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}
