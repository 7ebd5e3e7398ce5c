"""A compute's own record of the live migrations it takes part in.

``out``, on the source: written when it takes a migration
(``live_migration``), removed when its run ends. A restarted agent reads it
back: a migration with a hypervisor job left is adopted; one without (it
was queued or preparing) is rolled back at once rather than left to the
conductor's healer.

``in``, on the destination: the migrations it prepared for
(``pre_live_migration``) until post-migration or rollback; they count
against ``[compute] max_incoming_live_migrations``, across its restarts too.

The files live in ``state_path`` and hold only what the migration object
carries (no secrets).
"""

import json
import logging
import os
import threading

from vmctl.objects import migration as migration_obj

LOG = logging.getLogger(__name__)

FIELDS = ("uuid", "instance_uuid", "migration_type", "status", "source_compute",
          "source_node", "dest_compute", "dest_node", "block_migration")


class MigrationRecords:
    def __init__(self, state_path, host, direction):
        """``direction``: ``out`` (the source's runs) or ``in`` (what the
        destination prepared for)."""
        self.path = os.path.join(state_path, "live-migrations-%s-%s.json" % (direction, host))
        self._lock = threading.Lock()

    def _read(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            LOG.warning("Unreadable %s (%s): starting afresh", self.path, exc)
            return {}

    def _write(self, records):
        """Best effort: without the file a restart leaves these migrations
        to the conductor's healer, as before it existed."""
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(records, f)
            os.replace(tmp, self.path)
        except OSError as exc:
            LOG.warning("Cannot record live migrations in %s: %s", self.path, exc)

    def add(self, migration):
        with self._lock:
            records = self._read()
            records[migration.uuid] = {f: getattr(migration, f, None) for f in FIELDS}
            self._write(records)

    def remove(self, migration_uuid):
        with self._lock:
            records = self._read()
            if records.pop(migration_uuid, None) is not None:
                self._write(records)

    def take_all(self):
        """{instance uuid: [Migration]} of every record, which are cleared
        (the runs an agent starts again record themselves anew)."""
        with self._lock:
            records = self._read()
            if records:
                self._write({})
        found = {}
        for values in records.values():
            migration = migration_obj.Migration(
                **{f: values.get(f) for f in FIELDS if values.get(f) is not None})
            found.setdefault(migration.instance_uuid, []).append(migration)
        return found
