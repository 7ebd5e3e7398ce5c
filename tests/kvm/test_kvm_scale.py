"""Scenario 4: eight guests at once across the two hosts, all heartbeating,
then all deleted. (TCG guests cost ~6 % of a core each; keep <= 16.)"""

import time

from vmctl.virt.libvirt import guest as libvirt_guest

GUESTS = 8


def test_eight_guests_across_both_hosts(kvm_env):
    env = kvm_env
    started = time.monotonic()
    created = [env.boot("kvm-scale-%d" % n, wait=False) for n in range(GUESTS)]
    servers = [env.api.wait_for_status(s["id"], "ACTIVE", timeout=180) for s in created]
    by_host = {}
    for server in servers:
        by_host.setdefault(env.host_of(server), []).append(server["id"])
    assert sorted(by_host) == ["h1", "h2"], by_host

    for server in servers:
        console = env.wait_heartbeat(server["id"], timeout=180)
        assert console.boots == [1], console.summary()
    booted = time.monotonic() - started
    # All at once: every guest beats on while the others run.
    for server in servers:
        seq = env.console(server["id"]).seq
        console = env.wait_heartbeat(server["id"], after_seq=seq + 2, timeout=60)
        assert not console.holes(), (server["id"], console.summary())
    for host, ids in by_host.items():
        running = {u for u, (_n, state) in env.lab.domains(host).items()
                   if state == libvirt_guest.VIR_DOMAIN_RUNNING}
        assert running == set(ids), (host, running, ids)
    print("%d guests heartbeating %.1fs after the first POST" % (GUESTS, booted))

    env.delete([s["id"] for s in servers], timeout=180)
    for host in ("h1", "h2"):
        assert env.lab.domains(host) == {}, host
        assert env.cloud.instance_dirs(host) == [], host
