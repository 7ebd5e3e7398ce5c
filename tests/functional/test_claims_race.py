"""Two (here: four) schedulers claiming at once never overcommit a host.

Each "scheduler" is a thread with its own Database (own engine and
connections), hammering one node that has room for exactly CAPACITY
claims, on every database backend.
"""

import threading
import uuid

import pytest

from vmctl import exception
from vmctl.db import api as db_api
from vmctl.db import claims
from vmctl.db import compute_nodes
from vmctl.db import services

CAPACITY = 10
SCHEDULERS = 4
ATTEMPTS_EACH = 8


def _make_node(db):
    with db.transaction() as session:
        services.register(session, "race-host", "vmctl-compute", "vmctl-compute")
        node = compute_nodes.update_inventory(session, "race-host", "race-node", {
            "hypervisor_type": "fake", "vcpus": CAPACITY, "memory_mb": CAPACITY * 512,
            "local_gb": CAPACITY, "cpu_allocation_ratio": 1.0,
            "ram_allocation_ratio": 1.0, "disk_allocation_ratio": 1.0})
        return node.id


@pytest.mark.slow
def test_concurrent_claims_never_overcommit(migrated_database):
    node_id = _make_node(db_api.Database(migrated_database))
    results, barrier = [], threading.Barrier(SCHEDULERS)

    def scheduler():
        db = db_api.Database(migrated_database)
        barrier.wait()
        for _ in range(ATTEMPTS_EACH):
            consumer = str(uuid.uuid4())
            try:
                claims.claim(db, node_id, consumer, consumer, 1, 512, 1, retries=50)
                results.append(("ok", consumer))
            except exception.ClaimFailed as exc:
                results.append(("full", str(exc)))
        db.dispose()

    threads = [threading.Thread(target=scheduler) for _ in range(SCHEDULERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    won = [c for r, c in results if r == "ok"]
    assert len(results) == SCHEDULERS * ATTEMPTS_EACH
    assert len(won) == CAPACITY, results
    db = db_api.Database(migrated_database)
    with db.reader() as session:
        node = compute_nodes.get(session, node_id)
        assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used) == (
            CAPACITY, CAPACITY * 512, CAPACITY)
        assert claims.usage_by_node(session)[node_id] == (CAPACITY, CAPACITY * 512, CAPACITY)

    # Releasing concurrently gives everything back exactly once.
    def release(consumers):
        local = db_api.Database(migrated_database)
        for consumer in consumers:
            claims.release(local, consumer)
            claims.release(local, consumer)  # idempotent
        local.dispose()

    halves = [won[::2], won[1::2]]
    threads = [threading.Thread(target=release, args=(h,)) for h in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with db.reader() as session:
        node = compute_nodes.get(session, node_id)
        assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used) == (0, 0, 0)
        assert claims.usage_by_node(session) == {}
    db.dispose()
