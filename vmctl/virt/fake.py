"""An in-memory hypervisor for fast tests and scale simulation.

``FakeDriver`` runs guests on a ``fake_hypervisor.FakeHypervisor`` (kept in
a JSON file under ``state_path``, so that a restarted agent finds them
again, as it would on a real host) and delegates live migration to a
``fake_live_migration.FakeLiveMigrator`` and cold migration to a
``fake_cold_migration.FakeColdMigrator``, both given that hypervisor.
"""

import logging
import time

from vmctl import instance_states as states
from vmctl.virt import driver
from vmctl.virt import fake_cold_migration
from vmctl.virt import fake_disks
from vmctl.virt import fake_hypervisor
from vmctl.virt import fake_live_migration

LOG = logging.getLogger(__name__)

# What each operation requires of the guest's power state, and leaves.
_TRANSITIONS = {
    "power_off": ((states.RUNNING, states.POWER_PAUSED, states.SHUTDOWN, states.CRASHED), states.SHUTDOWN),
    "power_on": ((states.SHUTDOWN, states.RUNNING), states.RUNNING),
    "pause": ((states.RUNNING,), states.POWER_PAUSED),
    "unpause": ((states.POWER_PAUSED,), states.RUNNING),
    "suspend": ((states.RUNNING, states.POWER_PAUSED), states.POWER_SUSPENDED),
    "resume": ((states.POWER_SUSPENDED,), states.RUNNING),
}


class FakeDriver(driver.ComputeDriver):
    def __init__(self, conf):
        self.conf = conf
        self._hv = fake_hypervisor.FakeHypervisor(conf.state_path)
        self.live = fake_live_migration.FakeLiveMigrator(conf, self._hv)
        self.cold = fake_cold_migration.FakeColdMigrator(conf, self._hv)

    @property
    def nodename(self):
        return self._hv.host

    def init_host(self, host):
        self._hv.load(host)

    def list_instances(self):
        with self._hv.lock:
            return {uuid: g["power_state"] for uuid, g in self._hv.guests.items()}

    def spawn(self, instance):
        if self.conf.fake.spawn_seconds:
            time.sleep(self.conf.fake.spawn_seconds)
        if self.conf.fake.fail_builds:
            raise driver.VirtError("fake hypervisor %s is configured to fail builds"
                                   % self._hv.host)
        with self._hv.lock:
            self._hv.guests[instance.uuid] = {"power_state": states.RUNNING,
                                              "memory_mb": instance.flavor.memory_mb,
                                              "vcpus": instance.flavor.vcpus,
                                              "local_disks": fake_disks.for_flavor(instance.flavor)}
            self._hv.save()
        return states.RUNNING

    def destroy(self, instance):
        self._hv.remove(instance.uuid)

    def _move(self, instance, operation):
        allowed, result = _TRANSITIONS[operation]
        with self._hv.lock:
            guest = self._hv.require(instance.uuid)
            if guest["power_state"] not in allowed:
                raise driver.VirtError("cannot %s a guest in power state %s" % (
                    operation, states.POWER_STATE_NAMES.get(guest["power_state"])))
            guest["power_state"] = result
            self._hv.save()
        return result

    def power_off(self, instance):
        return self._move(instance, "power_off")

    def power_on(self, instance):
        return self._move(instance, "power_on")

    def reboot(self, instance, hard):
        with self._hv.lock:
            guest = self._hv.require(instance.uuid)
            if not hard and guest["power_state"] != states.RUNNING:
                raise driver.VirtError("a soft reboot needs a running guest")
            guest["power_state"] = states.RUNNING
            self._hv.save()
        return states.RUNNING

    def pause(self, instance):
        return self._move(instance, "pause")

    def unpause(self, instance):
        return self._move(instance, "unpause")

    def suspend(self, instance):
        return self._move(instance, "suspend")

    def resume(self, instance):
        return self._move(instance, "resume")

    def get_power_state(self, instance):
        with self._hv.lock:
            guest = self._hv.guests.get(instance.uuid)
            return guest["power_state"] if guest else states.NOSTATE

    def get_console_output(self, instance, length=None):
        with self._hv.lock:
            guest = self._hv.require(instance.uuid)
            lines = ["fake console of %s on %s" % (instance.uuid, self._hv.host),
                     "power state %s" % states.POWER_STATE_NAMES[guest["power_state"]]]
        if length is not None:
            lines = lines[-length:] if length else []
        return "".join(line + "\n" for line in lines)

    def get_available_resource(self):
        fake = self.conf.fake
        return {"vcpus": fake.vcpus, "memory_mb": fake.memory_mb,
                "local_gb": fake.disk_gb, "hypervisor_type": "fake",
                "hypervisor_version": 1000, "host_ip": "127.0.0.1"}

