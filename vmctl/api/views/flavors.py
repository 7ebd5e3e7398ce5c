"""Flavor views."""

from vmctl.api import microversion as mv
from vmctl.db import flavors as db_flavors


def summary(api, row):
    flavor = {"id": row.flavorid, "name": row.name,
              "links": api.links("flavors", row.flavorid)}
    if api.version.matches(mv.FLAVOR_DESCRIPTION):
        flavor["description"] = row.description
    return flavor


def detail(api, row, show_extra_specs=False):
    flavor = summary(api, row)
    swap = row.swap
    if not swap and not api.version.matches(mv.FLAVOR_SWAP_INT):
        swap = ""
    flavor.update({
        "ram": row.memory_mb,
        "disk": row.root_gb,
        "vcpus": row.vcpus,
        "swap": swap,
        "rxtx_factor": row.rxtx_factor,
        "OS-FLV-EXT-DATA:ephemeral": row.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": bool(row.disabled),
        "os-flavor-access:is_public": bool(row.is_public),
    })
    if show_extra_specs and api.version.matches(mv.FLAVOR_EXTRA_SPECS):
        flavor["extra_specs"] = db_flavors.extra_specs(row)
    return flavor
