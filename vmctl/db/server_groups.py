"""Server groups, their members, and where those members are.

A member's hosts are its instance's ``host`` and every node it holds a
resource claim on: the scheduler writes the claim before the conductor
sets the host, so a placement made a moment ago is already visible.
"""

import collections

import sqlalchemy as sa

from vmctl import exception
from vmctl.db import group_models
from vmctl.db import models

GROUP = group_models.InstanceGroup
MEMBER = group_models.InstanceGroupMember


class ServerGroupNotFound(exception.NotFound):
    msg_fmt = "Instance group %(group_uuid)s could not be found."


def create(session, values):
    row = GROUP(**values)
    session.add(row)
    session.flush()
    return row


def get(session, group_uuid, project_id=None):
    query = sa.select(GROUP).filter_by(uuid=group_uuid)
    if project_id is not None:
        query = query.filter_by(project_id=project_id)
    row = session.scalars(query).first()
    if row is None:
        raise ServerGroupNotFound(group_uuid=group_uuid)
    return row


def list_all(session, project_id=None, limit=None, offset=None):
    query = sa.select(GROUP).order_by(GROUP.id)
    if project_id is not None:
        query = query.filter_by(project_id=project_id)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def delete(session, group_uuid, project_id=None):
    session.delete(get(session, group_uuid, project_id))


def live_members(session, groups):
    """{group id: [instance uuid, ...]} of members whose instance exists."""
    ids = [g.id for g in groups]
    if not ids:
        return {}
    rows = session.execute(
        sa.select(MEMBER.group_id, MEMBER.instance_uuid)
        .join(models.Instance, models.Instance.uuid == MEMBER.instance_uuid)
        .where(MEMBER.group_id.in_(ids), models.Instance.deleted == 0)
        .order_by(MEMBER.id))
    found = collections.defaultdict(list)
    for group_id, uuid in rows:
        found[group_id].append(uuid)
    return found


def groups_of(session, instance_uuids):
    """{instance uuid: its group's uuid} for those in a group."""
    if not instance_uuids:
        return {}
    rows = session.execute(sa.select(MEMBER.instance_uuid, GROUP.uuid)
                           .join(GROUP, GROUP.id == MEMBER.group_id)
                           .where(MEMBER.instance_uuid.in_(list(instance_uuids))))
    return dict(rows.all())


def add_member(session, group, instance_uuid):
    session.add(MEMBER(group_id=group.id, instance_uuid=instance_uuid))
    session.flush()


def remove_member(session, instance_uuid):
    session.execute(sa.delete(MEMBER).where(MEMBER.instance_uuid == instance_uuid))


def group_of(session, instance_uuid):
    """(group, member row) of an instance, or (None, None)."""
    member = session.scalars(sa.select(MEMBER).filter_by(instance_uuid=instance_uuid)).first()
    if member is None:
        return None, None
    return member.group, member


def member_hosts(session, group, exclude_uuid, joined_before=None):
    """Counter {host: members there} of the group's other live members.

    ``joined_before``: only members that joined before this member row id
    (the compute's late check: a later member yields to an earlier one).
    """
    query = (sa.select(MEMBER.instance_uuid, models.Instance.host)
             .join(models.Instance, models.Instance.uuid == MEMBER.instance_uuid)
             .where(MEMBER.group_id == group.id, models.Instance.deleted == 0,
                    MEMBER.instance_uuid != exclude_uuid))
    if joined_before is not None:
        query = query.where(MEMBER.id < joined_before)
    hosts = collections.defaultdict(set)
    for uuid, host in session.execute(query):
        if host:
            hosts[uuid].add(host)
    _add_claimed_hosts(session, query, hosts)
    return collections.Counter(h for member in hosts.values() for h in member)


def _add_claimed_hosts(session, member_query, hosts):
    uuids = member_query.with_only_columns(MEMBER.instance_uuid)
    rows = session.execute(
        sa.select(models.ResourceClaim.instance_uuid, models.ComputeNode.host)
        .join(models.ComputeNode,
              models.ComputeNode.id == models.ResourceClaim.compute_node_id)
        .where(models.ResourceClaim.instance_uuid.in_(uuids)))
    for uuid, host in rows:
        hosts[uuid].add(host)
