"""/flavors/{flavor_id}/os-extra_specs."""

from vmctl import exception
from vmctl.api import errors
from vmctl.api import flavors
from vmctl.api import validation
from vmctl.api.schemas import flavor_extra_specs as schema
from vmctl.db import flavors as db_flavors
from vmctl.policies import flavors as policies


def _as_strings(specs):
    return {k: v if isinstance(v, str) else str(v).lower() if isinstance(v, bool)
            else str(v) for k, v in specs.items()}


def index(api, flavor_id):
    api.authorize(policies.SPECS_INDEX)
    with api.db.reader() as session:
        return {"extra_specs": db_flavors.extra_specs(flavors.visible(api, session, flavor_id))}


@validation.request_schema(schema.create)
def create(api, flavor_id):
    api.authorize(policies.SPECS_CREATE)
    specs = _as_strings(api.body(schema.create)["extra_specs"])
    with api.db.transaction() as session:
        db_flavors.set_extra_specs(session, flavor_id, specs)
    return {"extra_specs": specs}


def show(api, flavor_id, key):
    api.authorize(policies.SPECS_SHOW)
    with api.db.reader() as session:
        specs = db_flavors.extra_specs(flavors.visible(api, session, flavor_id))
    if key not in specs:
        raise exception.FlavorExtraSpecNotFound(flavor_id=flavor_id, key=key)
    return {key: specs[key]}


@validation.request_schema(schema.update)
def update(api, flavor_id, key):
    api.authorize(policies.SPECS_UPDATE)
    specs = _as_strings(api.body(schema.update))
    if key not in specs:
        raise errors.BadRequest("Request body and URI mismatch")
    with api.db.transaction() as session:
        db_flavors.set_extra_specs(session, flavor_id, specs)
    return specs


def delete(api, flavor_id, key):
    api.authorize(policies.SPECS_DELETE)
    with api.db.transaction() as session:
        db_flavors.delete_extra_spec(session, flavor_id, key)
    return {}
