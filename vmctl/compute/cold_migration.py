"""Cold migration, resize and evacuation: the compute agent's steps.

The conductor drives every move (conductor/tasks/resize.py and
evacuate.py); each step here runs under the instance's lock, is
idempotent (a step re-sent by the conductor's healing finds its work done
and reports it again), and reports its result with one cast:

  destination  prep_resize (call)      ready for the new flavor? (DestinationNotReady)
  source       resize_instance         power off, offer the disk -> "migrated"
  destination  finish_resize           pull + verify the disk, define the guest,
                                       start it if it ran -> "finished"
  source       confirm_resize          drop the kept copy -> "confirmed"
  destination  revert_resize           remove the new guest -> "dest_reverted"
  source       finish_revert_resize    the guest back as it was -> "reverted"
  either       cleanup_resize          the instance was deleted: remove both
  destination  rebuild_instance        evacuation: spawn from the image (and power
                                       it off if it is to stay stopped) -> "rebuilt"

On start-up ``recover`` removes what this host kept for moves that are
over, and the leftovers of instances evacuated away from it ("cleaned").
"""

import datetime
import logging

from vmctl import exception
from vmctl import instance_states as states
from vmctl import migration_states as ms
from vmctl.virt import driver as virt_driver

LOG = logging.getLogger(__name__)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat()


def _reason(exc):
    if isinstance(exc, virt_driver.VirtError):
        return str(exc)
    return "%s: %s" % (type(exc).__name__, exc)


class ColdMigrationAgent:
    def __init__(self, driver, conductor, work, host):
        """``conductor``: its RPC client; ``work``: the agent's WorkTracker
        (each step runs under the instance's lock and counts as busy)."""
        self.driver = driver
        self.conductor = conductor
        self.work = work
        self.host = host

    def _report(self, ctx, migration, step, ok, info=None, reason=None, started_at=None):
        self.conductor.cold_migration_result(ctx, migration.uuid, step, ok, info or {},
                                             reason, started_at)

    def _step(self, ctx, instance, migration, step, work):
        """Run ``work()`` -> info under the instance's lock and report it."""
        started = _now()
        with self.work.working_on(instance.uuid):
            try:
                info, ok, reason = work(), True, None
            except Exception as exc:
                LOG.warning("%s of %s (migration %s) failed: %s", step, instance.uuid,
                            migration.uuid, _reason(exc))
                info, ok, reason = {}, False, _reason(exc)
        self._report(ctx, migration, step, ok, info, reason, started)

    # --- destination -----------------------------------------------------------
    def prep_resize(self, ctx, instance, migration):
        """What the source needs to hand the disk over; DestinationNotReady
        says why not."""
        self.work.wait_idle(instance.uuid)
        try:
            return self.driver.prepare_migration_target(instance, migration)
        except virt_driver.VirtError as exc:
            raise exception.DestinationNotReady(reason=str(exc)) from None

    def finish_resize(self, ctx, instance, migration, manifest, power_on):
        def work():
            try:
                power = self.driver.finish_migration(instance, migration, manifest, power_on)
            except Exception:
                self.driver.revert_migration_at_destination(instance, migration)
                raise
            return {"power_state": power}
        self._step(ctx, instance, migration, "finished", work)

    def revert_resize(self, ctx, instance, migration):
        def work():
            self.driver.revert_migration_at_destination(instance, migration)
            return {}
        self._step(ctx, instance, migration, "dest_reverted", work)

    def rebuild_instance(self, ctx, instance, migration):
        def work():
            power = self.driver.get_power_state(instance)
            if power == states.NOSTATE:
                try:
                    power = self.driver.rebuild_evacuated(instance, migration)
                except Exception:
                    self.driver.destroy(instance)
                    raise
            if instance.vm_state == states.STOPPED and power != states.SHUTDOWN:
                # Evacuated while stopped (2.95): it stays stopped here.
                self.driver.power_off(instance)
                power = self.driver.get_power_state(instance)
            return {"power_state": power}
        self._step(ctx, instance, migration, "rebuilt", work)

    # --- source ----------------------------------------------------------------
    def resize_instance(self, ctx, instance, migration, dest_info):
        def work():
            manifest = self.driver.migrate_disk_and_power_off(instance, migration, dest_info)
            return {"manifest": manifest}
        self._step(ctx, instance, migration, "migrated", work)

    def confirm_resize(self, ctx, instance, migration):
        def work():
            self.driver.confirm_migration(instance, migration)
            return {}
        self._step(ctx, instance, migration, "confirmed", work)

    def finish_revert_resize(self, ctx, instance, migration):
        def work():
            return {"power_state": self.driver.finish_revert_migration(instance, migration)}
        self._step(ctx, instance, migration, "reverted", work)

    # --- either ----------------------------------------------------------------
    def cleanup_resize(self, ctx, instance, migration):
        with self.work.working_on(instance.uuid):
            self.driver.revert_migration_at_destination(instance, migration)
            self.driver.confirm_migration(instance, migration)

    def describe_migration(self, ctx, instance, migration):
        """What this host has of a move, for the conductor's healing."""
        held = self.driver.held_migrations().get(instance.uuid)
        return {"busy": self.work.is_busy(instance.uuid),
                "power_state": self.driver.get_power_state(instance),
                "held": held == migration.uuid}

    # --- start-up --------------------------------------------------------------
    def recover(self, ctx, moves):
        """``moves``: the unfinished moves involving this host (conductor)."""
        keep = {m["instance_uuid"]: m["uuid"] for m in moves
                if m["migration_type"] != ms.EVACUATION and m["source_compute"] == self.host}
        for uuid, migration_uuid in self.driver.held_migrations().items():
            if keep.get(uuid) != migration_uuid:
                LOG.warning("Dropping the copy of %s kept for migration %s: it is over",
                            uuid, migration_uuid)
                self.driver.confirm_migration(_Ref(uuid), None)
        for move in moves:
            if (move["migration_type"] == ms.EVACUATION and move["status"] == ms.DONE
                    and move["source_compute"] == self.host):
                self._clean_evacuated(ctx, move)

    def _clean_evacuated(self, ctx, move):
        if move["instance_host"] != self.host:
            LOG.warning("Instance %s was evacuated to %s: destroying what is left here",
                        move["instance_uuid"], move["instance_host"])
            self.driver.destroy(_Ref(move["instance_uuid"]))
        self._report(ctx, _Ref(move["uuid"]), "cleaned", True)


class _Ref:
    """What a driver needs to remove a guest by uuid (and a report its uuid)."""

    def __init__(self, uuid):
        self.uuid = uuid
