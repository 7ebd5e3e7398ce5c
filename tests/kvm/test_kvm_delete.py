"""Scenario 3: deleting a server removes its domain and its folder, and
nothing else: the image cache stays and its neighbour keeps running."""

import os

from vmctl.virt.libvirt import guest as libvirt_guest


def test_delete_removes_the_guest_and_nothing_else(kvm_env):
    env = kvm_env
    victim, neighbour = [env.boot("kvm-delete-%d" % n, host="h2", wait=False) for n in (1, 2)]
    for server in (victim, neighbour):
        env.api.wait_for_status(server["id"], "ACTIVE", timeout=120)
        env.wait_heartbeat(server["id"])
    cache = env.cloud.image_cache_path("h2")
    cached_before = sorted(os.listdir(cache))
    for image in env.images.values():
        assert image["id"] in cached_before, cached_before
    victim_dir = env.cloud.instance_dir("h2", victim["id"])
    assert os.path.isfile(os.path.join(victim_dir, "disk"))
    neighbour_before = env.console(neighbour["id"])

    env.delete([victim["id"]])

    assert env.lab.domain_state("h2", victim["id"]) is None
    assert not os.path.exists(victim_dir)
    assert sorted(os.listdir(cache)) == cached_before
    # The neighbour: still defined, running, heartbeating in the same boot.
    assert env.lab.domain_state("h2", neighbour["id"]) == libvirt_guest.VIR_DOMAIN_RUNNING
    assert os.path.isfile(os.path.join(env.cloud.instance_dir("h2", neighbour["id"]), "disk"))
    after = env.wait_heartbeat(neighbour["id"], after_seq=neighbour_before.seq + 3,
                               boot=neighbour_before.boot)
    assert not after.holes(), after.summary()
    assert env.api.server(neighbour["id"])["status"] == "ACTIVE"

    env.delete([neighbour["id"]])
    assert env.lab.domain_state("h2", neighbour["id"]) is None
    assert env.cloud.instance_dirs("h2") == []
    assert sorted(os.listdir(cache)) == cached_before
