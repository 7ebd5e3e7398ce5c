"""on_force_complete: post-copy if permitted, else pause; never post-copy a
paused guest; nothing once aborted or in post-copy."""

import dataclasses

import pytest

from vmctl.compute.live_migration import config
from vmctl.compute.live_migration import policies
from vmctl.compute.live_migration import simulate
from vmctl.virt import fake_live_model

GiB = 1024 ** 3


@pytest.mark.parametrize("name", ["steps", "adaptive"])
@pytest.mark.parametrize("post_copy, paused, expected", [
    (True, False, ["start_postcopy"]),
    (False, False, ["force_complete"]),
    (True, True, []),
    (False, True, []),
])
def test_force_complete_choices(name, post_copy, paused, expected):
    policy = config.MigrationPolicy(policy=name, permit_post_copy=post_copy)
    facts = policies.MigrationFacts(memory_bytes=GiB, guest_paused=paused)
    state = policies.start(policy, facts)
    state, found = policies.on_force_complete(policy, state)
    assert [a.kind for a in found] == expected
    assert found == [] or "force-complete requested" in found[0].reason
    # Asking again does nothing more.
    assert policies.on_force_complete(policy, state).actions == []


@pytest.mark.parametrize("name", ["steps", "adaptive"])
def test_nothing_after_abort(name):
    policy = config.MigrationPolicy(policy=name, permit_post_copy=True)
    state = policies.start(policy, policies.MigrationFacts(memory_bytes=GiB))
    state = dataclasses.replace(state, aborted=True)
    assert policies.on_force_complete(policy, state).actions == []


@pytest.mark.parametrize("post_copy", [True, False])
def test_operator_force_complete_finishes_a_non_converging_migration(post_copy):
    policy = config.MigrationPolicy(policy="steps", permit_post_copy=post_copy)
    migration = fake_live_model.FakeMigration(**simulate.WORKLOADS["non-converging"])
    result = simulate.run(policy, migration, force_complete_at_s=30)
    assert result.status == "completed"
    assert (30.0, "start_postcopy" if post_copy else "force_complete") in [
        (t, a.kind) for t, a in result.decisions]
    assert result.elapsed_s < 45
