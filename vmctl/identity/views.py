"""Response bodies of the identity API, shaped as Keystone v3's."""

from vmctl.db.identity_models import DEFAULT_DOMAIN_ID
from vmctl.identity.core import DEFAULT_DOMAIN_NAME

API_VERSION = "v3.14"
API_UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPE = "application/vnd.openstack.identity-v3+json"


def isotime(stamp):
    """Keystone's token timestamps: microseconds and a Z."""
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version(base):
    return {
        "id": API_VERSION, "status": "stable", "updated": API_UPDATED,
        "links": [{"rel": "self", "href": "%s/identity/v3/" % base}],
        "media-types": [{"base": "application/json", "type": MEDIA_TYPE}],
    }


def domain_ref():
    return {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME}


def domain(base):
    return {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME, "enabled": True,
            "description": "The default domain", "tags": [], "options": {},
            "links": {"self": "%s/identity/v3/domains/%s" % (base, DEFAULT_DOMAIN_ID)}}


def user(base, row):
    body = {"id": row.id, "name": row.name, "domain_id": row.domain_id,
            "enabled": row.enabled, "password_expires_at": None, "options": {},
            "links": {"self": "%s/identity/v3/users/%s" % (base, row.id)}}
    for attr in ("email", "description", "default_project_id"):
        if getattr(row, attr) is not None:
            body[attr] = getattr(row, attr)
    return body


def project(base, row):
    return {"id": row.id, "name": row.name, "domain_id": row.domain_id,
            "description": row.description or "", "enabled": row.enabled,
            "parent_id": row.domain_id, "is_domain": False, "tags": [], "options": {},
            "links": {"self": "%s/identity/v3/projects/%s" % (base, row.id)}}


def role(base, row):
    return {"id": row.id, "name": row.name, "domain_id": None,
            "description": row.description, "options": {},
            "links": {"self": "%s/identity/v3/roles/%s" % (base, row.id)}}


def collection(base, name, items, path=None):
    return {name: items,
            "links": {"self": "%s/identity/v3/%s" % (base, path or name),
                      "previous": None, "next": None}}


def assignment(base, row, names=None):
    """A role assignment; ``names`` {id: name} adds names (include_names)."""
    body = {
        "role": {"id": row.role_id},
        "user": {"id": row.user_id},
        "scope": {"project": {"id": row.project_id}},
        "links": {"assignment": "%s/identity/v3/projects/%s/users/%s/roles/%s"
                                % (base, row.project_id, row.user_id, row.role_id)},
    }
    if names is not None:
        body["role"]["name"] = names.get(row.role_id)
        body["user"]["name"] = names.get(row.user_id)
        body["user"]["domain"] = domain_ref()
        body["scope"]["project"]["name"] = names.get(row.project_id)
        body["scope"]["project"]["domain"] = domain_ref()
    return body


def catalog(endpoint, region):
    """Public, internal and admin endpoints of compute, image and identity."""
    services = (("compute", "nova", "%s/v2.1" % endpoint),
                ("image", "glance", "%s/image" % endpoint),
                ("identity", "keystone", "%s/identity/v3" % endpoint))
    result = []
    for kind, name, url in services:
        endpoints = [{"id": "%s-%s" % (kind, interface), "interface": interface,
                      "region": region, "region_id": region, "url": url}
                     for interface in ("public", "internal", "admin")]
        result.append({"id": kind, "type": kind, "name": name, "endpoints": endpoints})
    return result


def token(validated, endpoint, region, with_catalog=True):
    data = validated.data
    body = {
        "methods": data.methods,
        "user": {"id": validated.user.id, "name": validated.user.name,
                 "domain": domain_ref(), "password_expires_at": None},
        "audit_ids": [data.audit_id],
        "issued_at": isotime(data.issued_at),
        "expires_at": isotime(data.expires_at),
    }
    if validated.project is not None:
        body["project"] = {"id": validated.project.id, "name": validated.project.name,
                           "domain": domain_ref()}
        body["is_domain"] = False
        body["roles"] = [{"id": r.id, "name": r.name} for r in validated.roles]
    if with_catalog:
        body["catalog"] = catalog(endpoint, region)
    return {"token": body}
