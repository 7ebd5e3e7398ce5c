"""Client side of the compute agent's RPC API (one queue per host).

API version history:
    1.0 - initial: build_and_run_instance, run_action, terminate_instance
    1.1 - get_console_output
    1.2 - describe_instance
    1.3 - live migration: check_can_live_migrate_destination/_source,
          live_migration, pre_live_migration, post_live_migration_at_destination,
          rollback_live_migration_at_destination, live_migration_abort,
          live_migration_force_complete
    1.4 - cold migration / resize / evacuation: prep_resize, resize_instance,
          finish_resize, confirm_resize, revert_resize, finish_revert_resize,
          cleanup_resize, rebuild_instance, describe_migration
    1.5 - build_and_run_instance: server_group (the late check asks the
          conductor only for a member of a group)
    1.6 - live_migration_arrived (destination -> source: the guest runs here)
    1.7 - expected failures are exceptions (vmctl.exception), not
          {"ok": False, "reason"} / {"error"} replies:
          check_can_live_migrate_source returns the source's info and
          check_can_live_migrate_destination {"shared_storage"}, or raise
          MigrationPreCheckError; pre_live_migration and prep_resize return
          the destination's info or raise DestinationNotReady;
          get_console_output returns the text or raises ConsoleOutputUnavailable
"""

from vmctl import rpc

VERSION = "1.7"


class ComputeAPI:
    def __init__(self, conf, transport):
        self.client = rpc.get_client(transport, conf.compute.topic, VERSION)

    def _v17(self, host, timeout=None):
        """The calls whose expected failures are exceptions (1.7)."""
        return self.client.prepare(server=host, version="1.7", timeout=timeout)

    def build_and_run_instance(self, ctx, host, instance, node, attempt_hosts,
                               server_group=None):
        """``server_group``: the uuid of the instance's group, if any (the
        compute then checks the group's policy before spawning)."""
        self.client.prepare(server=host, version="1.5").cast(
            ctx, "build_and_run_instance", instance=instance, node=node,
            attempt_hosts=attempt_hosts, server_group=server_group)

    def run_action(self, ctx, host, instance, action):
        self.client.prepare(server=host).cast(ctx, "run_action",
                                              instance=instance, action=action)

    def get_console_output(self, ctx, host, instance, length, timeout=30):
        """The text; ConsoleOutputUnavailable says why not."""
        return self._v17(host, timeout).call(
            ctx, "get_console_output", instance=instance, length=length)

    def describe_instance(self, ctx, host, instance, timeout=15):
        """{"busy", "exists", "power_state"} of an instance on its host."""
        return self.client.prepare(server=host, version="1.2", timeout=timeout).call(
            ctx, "describe_instance", instance=instance)

    def terminate_instance(self, ctx, host, instance):
        self.client.prepare(server=host).cast(ctx, "terminate_instance",
                                              instance=instance)

    # --- live migration ------------------------------------------------------
    def _v13(self, host, timeout=None):
        return self.client.prepare(server=host, version="1.3", timeout=timeout)

    def check_can_live_migrate_destination(self, ctx, host, instance, block_migration,
                                           source_info, timeout=30):
        """{"shared_storage"} from the destination; MigrationPreCheckError
        says why it cannot take the guest."""
        return self._v17(host, timeout).call(
            ctx, "check_can_live_migrate_destination", instance=instance,
            block_migration=block_migration, source_info=source_info)

    def check_can_live_migrate_source(self, ctx, host, instance, timeout=30):
        """What the destination needs to know of the source;
        MigrationPreCheckError says why the source cannot migrate."""
        return self._v17(host, timeout).call(ctx, "check_can_live_migrate_source",
                                             instance=instance)

    def live_migration(self, ctx, host, instance, migration):
        self._v13(host).cast(ctx, "live_migration", instance=instance, migration=migration)

    def pre_live_migration(self, ctx, host, instance, migration, timeout=120):
        """The destination made ready (disks, files): what the source needs;
        DestinationNotReady says why not."""
        return self._v17(host, timeout).call(ctx, "pre_live_migration", instance=instance,
                                             migration=migration)

    def post_live_migration_at_destination(self, ctx, host, instance, migration,
                                           timeout=60):
        return self._v13(host, timeout).call(ctx, "post_live_migration_at_destination",
                                             instance=instance, migration=migration)

    def rollback_live_migration_at_destination(self, ctx, host, instance, migration):
        self._v13(host).cast(ctx, "rollback_live_migration_at_destination",
                             instance=instance, migration=migration)

    def live_migration_arrived(self, ctx, host, migration_uuid):
        """To the source: the destination's hypervisor resumed the guest."""
        self.client.prepare(server=host, version="1.6").cast(
            ctx, "live_migration_arrived", migration_uuid=migration_uuid)

    def live_migration_abort(self, ctx, host, migration_uuid):
        self._v13(host).cast(ctx, "live_migration_abort", migration_uuid=migration_uuid)

    def live_migration_force_complete(self, ctx, host, migration_uuid):
        self._v13(host).cast(ctx, "live_migration_force_complete",
                             migration_uuid=migration_uuid)

    # --- cold migration / resize / evacuation (compute/cold_migration.py) -----
    def _v14(self, host, timeout=None):
        return self.client.prepare(server=host, version="1.4", timeout=timeout)

    def prep_resize(self, ctx, host, instance, migration, timeout=30):
        """What the source needs from the destination; DestinationNotReady
        says why it cannot take the guest."""
        return self._v17(host, timeout).call(ctx, "prep_resize", instance=instance,
                                             migration=migration)

    def resize_instance(self, ctx, host, instance, migration, dest_info):
        self._v14(host).cast(ctx, "resize_instance", instance=instance,
                             migration=migration, dest_info=dest_info)

    def finish_resize(self, ctx, host, instance, migration, manifest, power_on):
        self._v14(host).cast(ctx, "finish_resize", instance=instance, migration=migration,
                             manifest=manifest, power_on=power_on)

    def confirm_resize(self, ctx, host, instance, migration):
        self._v14(host).cast(ctx, "confirm_resize", instance=instance, migration=migration)

    def revert_resize(self, ctx, host, instance, migration):
        self._v14(host).cast(ctx, "revert_resize", instance=instance, migration=migration)

    def finish_revert_resize(self, ctx, host, instance, migration):
        self._v14(host).cast(ctx, "finish_revert_resize", instance=instance,
                             migration=migration)

    def cleanup_resize(self, ctx, host, instance, migration):
        self._v14(host).cast(ctx, "cleanup_resize", instance=instance, migration=migration)

    def rebuild_instance(self, ctx, host, instance, migration):
        self._v14(host).cast(ctx, "rebuild_instance", instance=instance, migration=migration)

    def describe_migration(self, ctx, host, instance, migration, timeout=15):
        """{"busy", "power_state", "held"}: what ``host`` has of a move."""
        return self._v14(host, timeout).call(ctx, "describe_migration", instance=instance,
                                             migration=migration)
