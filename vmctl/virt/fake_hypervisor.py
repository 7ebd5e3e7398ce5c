"""The fake driver's hypervisor: its guests, remembered on disk.

Guests are kept in ``<state_path>/fake-virt-<host>.json`` so that a
restarted agent finds them again, as it would on a real host. The fake
driver, its live migrator and its cold migrator share one
``FakeHypervisor`` (its ``lock`` guards ``guests``).
"""

import json
import logging
import os
import threading

from vmctl.virt import driver

LOG = logging.getLogger(__name__)


def read_json(path, default=None):
    """The JSON at ``path`` (``default``, or {}, when the file is missing)."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {} if default is None else default


def write_json(path, value):
    """Write JSON atomically, making the folder if needed."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


class FakeHypervisor:
    """``guests``: {instance uuid: {"power_state", "memory_mb", "vcpus", ...}}."""

    def __init__(self, state_path):
        self.state_path = state_path
        self.host = None
        self.lock = threading.Lock()
        self.guests = {}
        self._path = None

    def load(self, host):
        """Become ``host`` and find its guests again."""
        self.host = host
        self._path = os.path.join(self.state_path, "fake-virt-%s.json" % host)
        self.guests = read_json(self._path)
        LOG.info("Fake hypervisor %s has %d guests", host, len(self.guests))

    def save(self):
        """Persist ``guests``; call with ``lock`` held."""
        write_json(self._path, self.guests)

    def require(self, instance_uuid):
        """The guest of ``instance_uuid``; call with ``lock`` held."""
        guest = self.guests.get(instance_uuid)
        if guest is None:
            raise driver.VirtError("instance %s is not on hypervisor %s"
                                   % (instance_uuid, self.host))
        return guest

    def remove(self, instance_uuid):
        with self.lock:
            if self.guests.pop(instance_uuid, None) is not None:
                self.save()
