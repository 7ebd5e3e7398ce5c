"""What a restarted compute agent finishes or undoes before it serves.

For each instance the conductor says is on this host, by its task_state:

  deleting         terminated again
  spawning         the guest exists: built; it does not: the build failed
  a power action   failed, "interrupted by a restart of the compute service"
  migrating        (live, from here) adopted or rolled back (departures.py)

Besides: migrations this host was preparing for still count against its
incoming limit (destination.py); instances that left this host while the
agent was down are cleaned up after; guests no instance of this host owns
are destroyed. Cold moves recover in cold_migration.py.
"""

import logging

from vmctl import instance_states as states
from vmctl.virt import driver as virt_driver

LOG = logging.getLogger(__name__)



class StartupRecovery:
    def __init__(self, host, driver, conductor, departures, arrivals, terminate):
        """``conductor``: its RPC client; ``departures`` / ``arrivals``: the
        live migration sides (departures.py, destination.py);
        ``terminate(ctx, instance)``: the agent's terminate_instance."""
        self.host = host
        self.driver = driver
        self.conductor = conductor
        self.departures = departures
        self.arrivals = arrivals
        self.terminate = terminate

    def run(self, ctx, known):
        """``known``: the instances of this host and those a migration is
        bringing here (the conductor's instances_on_host)."""
        guests = self.driver.list_instances()
        handed = self.departures.take_records()  # live migrations this source was running
        self.arrivals.recover({i.uuid for i in known if i.host != self.host})
        for inst in known:
            if inst.host != self.host:
                continue  # incoming: the migration's source side settles it
            self._recover_one(ctx, inst, guests.get(inst.uuid), handed.get(inst.uuid, ()))
        for uuid in set(handed) - {i.uuid for i in known if i.host == self.host}:
            self.departures.clean_after_departure(uuid)
        for uuid in set(guests) - {i.uuid for i in known}:
            LOG.warning("Destroying guest %s: no instance of this host has it", uuid)
            self.driver.destroy(virt_driver.GuestRef(uuid))

    def _recover_one(self, ctx, inst, power_state, handed=()):
        task = inst.task_state
        if task == states.DELETING:
            self.terminate(ctx, inst)
        elif task == states.SPAWNING and power_state is None:
            self.conductor.build_result(ctx, inst.uuid, self.host, self.driver.nodename,
                                        False, states.NOSTATE,
                                        "compute service restarted during the build",
                                        attempt_hosts=[self.host])
        elif task == states.SPAWNING:
            self.conductor.build_result(ctx, inst.uuid, self.host, self.driver.nodename,
                                        True, power_state, attempt_hosts=[self.host])
        elif task in states.ACTION_FOR_TASK:
            self.conductor.action_result(ctx, inst.uuid, self.host, states.ACTION_FOR_TASK[task],
                                         False, power_state or states.NOSTATE,
                                         "interrupted by a restart of the compute service")
        elif task == states.MIGRATING:
            self.departures.adopt(ctx, inst, power_state, handed)
