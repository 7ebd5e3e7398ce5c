"""Resource claims: compare-and-swap on the compute node's generation.

A claim reads the node, checks the request fits under the allocation
ratios, then bumps usage with ``UPDATE ... WHERE generation = :seen``. If
another scheduler won the race the row count is 0 and the claim re-reads
and retries, a bounded number of times. Two schedulers can therefore never
overcommit a host.
"""

import sqlalchemy as sa

from vmctl import exception
from vmctl.db import models

NODE = models.ComputeNode
CLAIM = models.ResourceClaim


def fits(node, vcpus, memory_mb, disk_gb):
    """Why a request does not fit on a node, or None if it does."""
    if node.memory_mb_used + memory_mb > node.memory_mb * node.ram_allocation_ratio:
        return "not enough RAM"
    if node.vcpus_used + vcpus > node.vcpus * node.cpu_allocation_ratio:
        return "not enough vCPUs"
    if node.local_gb_used + disk_gb > node.local_gb * node.disk_allocation_ratio:
        return "not enough disk"
    return None


def _bump(session, node, vcpus, memory_mb, disk_gb):
    result = session.execute(
        sa.update(NODE)
        .where(NODE.id == node.id, NODE.generation == node.generation)
        .values(vcpus_used=NODE.vcpus_used + vcpus,
                memory_mb_used=NODE.memory_mb_used + memory_mb,
                local_gb_used=NODE.local_gb_used + disk_gb,
                generation=NODE.generation + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def claim(db, node_id, consumer_uuid, instance_uuid, vcpus, memory_mb, disk_gb,
          retries=8):
    """Claim resources on a node for a consumer; ClaimFailed if they don't fit."""
    for _attempt in range(retries):
        with db.transaction() as session:
            node = session.get(NODE, node_id, populate_existing=True)
            if node is None:
                raise exception.ClaimFailed(node=node_id, reason="node is gone")
            reason = fits(node, vcpus, memory_mb, disk_gb)
            if session.scalars(sa.select(CLAIM.id).filter_by(
                    consumer_uuid=consumer_uuid, compute_node_id=node_id)).first():
                reason = "%s already holds a claim there" % consumer_uuid
            if reason:
                raise exception.ClaimFailed(node=node.hypervisor_hostname, reason=reason)
            if not _bump(session, node, vcpus, memory_mb, disk_gb):
                continue
            session.add(CLAIM(consumer_uuid=consumer_uuid, instance_uuid=instance_uuid,
                              compute_node_id=node.id, vcpus=vcpus,
                              memory_mb=memory_mb, disk_gb=disk_gb))
            return
    raise exception.ClaimFailed(node=node_id, reason="too many concurrent claims")


def release(db, consumer_uuid, node_id=None):
    """Release the claims a consumer holds (on one node, or all). Idempotent."""
    with db.transaction() as session:
        release_in(session, consumer_uuid, node_id)


def for_consumer(session, consumer_uuid):
    return list(session.scalars(sa.select(CLAIM).filter_by(consumer_uuid=consumer_uuid)))


def usage_by_node(session):
    """{node_id: (vcpus, memory_mb, disk_gb)} summed from claims."""
    rows = session.execute(
        sa.select(CLAIM.compute_node_id, sa.func.sum(CLAIM.vcpus),
                  sa.func.sum(CLAIM.memory_mb), sa.func.sum(CLAIM.disk_gb))
        .group_by(CLAIM.compute_node_id))
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


def swap_consumers(session, first, second):
    """Exchange the claims of two consumers, inside the caller's transaction
    (a resize finishing: the instance takes the destination, the migration
    keeps the source; a revert swaps them back). Usage does not change."""
    parked = "swap-" + first[:30]
    for old, new in ((first, parked), (second, first), (parked, second)):
        session.execute(sa.update(CLAIM).where(CLAIM.consumer_uuid == old)
                        .values(consumer_uuid=new)
                        .execution_options(synchronize_session=False))


def move_consumer_in(session, from_uuid, to_uuid):
    """``move_consumer`` inside the caller's transaction."""
    session.execute(sa.update(CLAIM).where(CLAIM.consumer_uuid == from_uuid)
                    .values(consumer_uuid=to_uuid)
                    .execution_options(synchronize_session=False))


def release_in(session, consumer_uuid, node_id=None):
    """Release the claims of a consumer inside the caller's transaction, so
    that it commits (or not) with the status change it belongs to.

    Giving resources back needs no fit check: each claim row is deleted
    first (only the one deleter that matches it gives its resources back,
    so two concurrent releases never count twice), then usage is
    decremented in SQL (``used = used - n``, atomic under the row lock) and
    the generation bumped so that concurrent claimers re-read.
    """
    for claim_row in for_consumer(session, consumer_uuid):
        if node_id is not None and claim_row.compute_node_id != node_id:
            continue
        gone = session.execute(sa.delete(CLAIM).where(CLAIM.id == claim_row.id)
                               .execution_options(synchronize_session=False))
        if gone.rowcount != 1:
            continue
        session.execute(
            sa.update(NODE).where(NODE.id == claim_row.compute_node_id)
            .values(vcpus_used=NODE.vcpus_used - claim_row.vcpus,
                    memory_mb_used=NODE.memory_mb_used - claim_row.memory_mb,
                    local_gb_used=NODE.local_gb_used - claim_row.disk_gb,
                    generation=NODE.generation + 1)
            .execution_options(synchronize_session=False))
        session.expunge(claim_row)
