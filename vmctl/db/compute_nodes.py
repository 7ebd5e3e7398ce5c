"""Compute nodes: inventory reported by the resource trackers."""

import uuid as uuidlib

import sqlalchemy as sa

from vmctl import exception
from vmctl.db import api as db_api
from vmctl.db import models

INVENTORY_FIELDS = ("hypervisor_type", "hypervisor_version", "host_ip",
                    "availability_zone", "vcpus", "memory_mb", "local_gb",
                    "cpu_allocation_ratio", "ram_allocation_ratio",
                    "disk_allocation_ratio", "running_vms")


def update_inventory(session, host, node, inventory):
    """Create or update a node's inventory; usage columns belong to claims."""
    row = session.scalars(sa.select(models.ComputeNode)
                          .filter_by(host=host, hypervisor_hostname=node)).first()
    service = session.scalars(sa.select(models.Service)
                              .filter_by(host=host, binary="vmctl-compute")).first()
    values = {k: inventory[k] for k in INVENTORY_FIELDS if k in inventory}
    if row is None:
        row = models.ComputeNode(uuid=str(uuidlib.uuid4()), host=host,
                                 hypervisor_hostname=node, generation=0,
                                 vcpus_used=0, memory_mb_used=0,
                                 local_gb_used=0, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    row.service_id = service.id if service else None
    session.flush()
    return row


def list_all(session):
    return list(session.scalars(sa.select(models.ComputeNode).order_by(models.ComputeNode.id)))


def get(session, node_id):
    query = sa.select(models.ComputeNode)
    numeric = db_api.int_id(node_id)
    if numeric is not None:
        query = query.filter_by(id=numeric)
    else:
        query = query.filter(sa.or_(models.ComputeNode.uuid == str(node_id),
                                    models.ComputeNode.hypervisor_hostname == str(node_id)))
    row = session.scalars(query).first()
    if row is None:
        raise exception.ComputeNodeNotFound(node=node_id)
    return row


def get_by_host_node(session, host, node):
    row = session.scalars(sa.select(models.ComputeNode)
                          .filter_by(host=host, hypervisor_hostname=node)).first()
    if row is None:
        raise exception.ComputeNodeNotFound(node=f"{host}/{node}")
    return row
