"""Flavors and their extra specs."""

import sqlalchemy as sa

from vmctl import exception
from vmctl.db import models

FLAVOR = models.Flavor


def create(session, values, extra_specs=None):
    for field in ("flavorid", "name"):
        if session.scalars(sa.select(FLAVOR).filter_by(**{field: values[field]})).first():
            raise exception.FlavorExists(field=field, value=values[field])
    row = FLAVOR(**values)
    row.extra_specs = [models.FlavorExtraSpec(key=k, value=v)
                       for k, v in (extra_specs or {}).items()]
    session.add(row)
    session.flush()
    return row


def get(session, flavorid):
    row = session.scalars(sa.select(FLAVOR).filter_by(flavorid=str(flavorid))).first()
    if row is None:
        raise exception.FlavorNotFound(flavor_id=flavorid)
    return row


def list_all(session, is_public=True, limit=None, marker=None, min_ram=None,
             min_disk=None):
    query = sa.select(FLAVOR).order_by(FLAVOR.flavorid)
    if is_public is not None:
        query = query.filter_by(is_public=is_public)
    if min_ram:
        query = query.filter(FLAVOR.memory_mb >= min_ram)
    if min_disk:
        query = query.filter(FLAVOR.root_gb >= min_disk)
    if marker:
        get(session, marker)
        query = query.filter(FLAVOR.flavorid > str(marker))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def delete(session, flavorid):
    session.delete(get(session, flavorid))


def extra_specs(row):
    return {spec.key: spec.value for spec in row.extra_specs}


def set_extra_specs(session, flavorid, specs):
    row = get(session, flavorid)
    existing = {spec.key: spec for spec in row.extra_specs}
    for key, value in specs.items():
        if key in existing:
            existing[key].value = value
        else:
            row.extra_specs.append(models.FlavorExtraSpec(key=key, value=value))
    session.flush()
    return extra_specs(row)


def delete_extra_spec(session, flavorid, key):
    row = get(session, flavorid)
    for spec in row.extra_specs:
        if spec.key == key:
            row.extra_specs.remove(spec)
            return
    raise exception.FlavorExtraSpecNotFound(flavor_id=flavorid, key=key)


def snapshot(row):
    """The flavor as stored with an instance (see objects.Flavor)."""
    return {"flavorid": row.flavorid, "name": row.name, "vcpus": row.vcpus,
            "memory_mb": row.memory_mb, "root_gb": row.root_gb,
            "ephemeral_gb": row.ephemeral_gb, "swap": row.swap,
            "extra_specs": extra_specs(row)}
