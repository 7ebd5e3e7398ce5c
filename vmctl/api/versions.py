"""Version documents: ``GET /`` (all versions) and ``GET /v2.1``."""

from vmctl.api import microversion as mv

UPDATED = "2013-07-23T11:33:21Z"
MEDIA_TYPE = "application/vnd.openstack.compute+json;version=2.1"


def _v21(base_url):
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": mv.MAX_VERSION,
        "min_version": mv.MIN_VERSION,
        "updated": UPDATED,
        "links": [{"rel": "self", "href": "%s/v2.1/" % base_url}],
    }


def list_versions(api):
    return {"versions": [_v21(api.base_url)]}


def show_v21(api):
    doc = _v21(api.base_url)
    doc["links"].append({"rel": "describedby", "type": "text/html",
                         "href": "https://docs.openstack.org/"})
    doc["media-types"] = [{"base": "application/json", "type": MEDIA_TYPE}]
    return {"version": doc}
