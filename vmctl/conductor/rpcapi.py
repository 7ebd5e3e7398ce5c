"""Client side of the conductor's RPC API.

The API asks the conductor to run tasks; compute agents report to it (they
never touch the database themselves).

API version history:
    1.0 - initial: build_instances, instance_action, delete_instance,
          service_heartbeat, update_inventory, build_result, action_result,
          terminate_result, instances_on_host
    1.1 - get_console_output
    1.2 - power_state_changed
    1.3 - live migration: live_migrate_instance, live_migration_abort,
          live_migration_force_complete (from the API); migration_update,
          live_migration_finished (from computes)
    1.4 - cold migration / resize / evacuation: migrate_server, confirm_resize,
          revert_resize, evacuate_instance (from the API); cold_migration_result,
          moves_on_host (from computes)
    1.5 - check_server_group (from computes: the late server group check)
    1.6 - live_migration_finished: progress (the job's last figures, which
          the source reported in a migration_update of their own before)
    1.7 - get_console_output returns the text or raises
          ConsoleOutputUnavailable (vmctl.exception) instead of {"error"}
"""

from vmctl import rpc

VERSION = "1.7"


class ConductorAPI:
    def __init__(self, conf, transport):
        self.client = rpc.get_client(transport, conf.conductor.topic, VERSION)

    # --- asked by the API -------------------------------------------------
    def build_instances(self, ctx, instance_uuids, attempt_hosts=None):
        self.client.prepare().cast(ctx, "build_instances",
                                   instance_uuids=instance_uuids,
                                   attempt_hosts=attempt_hosts or [])

    def instance_action(self, ctx, instance_uuid, action):
        self.client.prepare().cast(ctx, "instance_action",
                                   instance_uuid=instance_uuid, action=action)

    def delete_instance(self, ctx, instance_uuid):
        self.client.prepare().cast(ctx, "delete_instance", instance_uuid=instance_uuid)

    def get_console_output(self, ctx, instance_uuid, length):
        """The text; ConsoleOutputUnavailable says why not."""
        return self.client.prepare(version="1.7").call(
            ctx, "get_console_output", instance_uuid=instance_uuid, length=length)

    def live_migrate_instance(self, ctx, instance_uuid, migration_uuid, host, block_migration):
        self.client.prepare(version="1.3").cast(
            ctx, "live_migrate_instance", instance_uuid=instance_uuid,
            migration_uuid=migration_uuid, host=host, block_migration=block_migration)

    def live_migration_abort(self, ctx, instance_uuid, migration_uuid):
        self.client.prepare(version="1.3").cast(ctx, "live_migration_abort",
                                                instance_uuid=instance_uuid,
                                                migration_uuid=migration_uuid)

    def live_migration_force_complete(self, ctx, instance_uuid, migration_uuid):
        self.client.prepare(version="1.3").cast(ctx, "live_migration_force_complete",
                                                instance_uuid=instance_uuid,
                                                migration_uuid=migration_uuid)

    def migrate_server(self, ctx, instance_uuid, migration_uuid, host):
        """Cold migration or resize (the migration record says which)."""
        self.client.prepare(version="1.4").cast(
            ctx, "migrate_server", instance_uuid=instance_uuid,
            migration_uuid=migration_uuid, host=host)

    def confirm_resize(self, ctx, instance_uuid, migration_uuid):
        self.client.prepare(version="1.4").cast(ctx, "confirm_resize",
                                                instance_uuid=instance_uuid,
                                                migration_uuid=migration_uuid)

    def revert_resize(self, ctx, instance_uuid, migration_uuid):
        self.client.prepare(version="1.4").cast(ctx, "revert_resize",
                                                instance_uuid=instance_uuid,
                                                migration_uuid=migration_uuid)

    def evacuate_instance(self, ctx, instance_uuid, migration_uuid, host):
        self.client.prepare(version="1.4").cast(
            ctx, "evacuate_instance", instance_uuid=instance_uuid,
            migration_uuid=migration_uuid, host=host)

    # --- reported by compute agents ---------------------------------------
    def cold_migration_result(self, ctx, migration_uuid, step, ok, info, reason=None,
                              started_at=None):
        """A compute finished one step of a cold move (compute/cold_migration.py)."""
        self.client.prepare(version="1.4").cast(
            ctx, "cold_migration_result", migration_uuid=migration_uuid, step=step,
            ok=ok, info=info, reason=reason, started_at=started_at)

    def moves_on_host(self, ctx, host, timeout=None):
        """Unfinished cold moves involving ``host`` (its start-up recovery)."""
        return self.client.prepare(version="1.4", timeout=timeout).call(
            ctx, "moves_on_host", host=host)

    def service_heartbeat(self, ctx, host, binary, topic):
        self.client.prepare().cast(ctx, "service_heartbeat", host=host,
                                   binary=binary, topic=topic)

    def update_inventory(self, ctx, host, node, inventory):
        return self.client.prepare().call(ctx, "update_inventory", host=host,
                                          node=node, inventory=inventory)

    def build_result(self, ctx, instance_uuid, host, node, ok, power_state,
                     reason=None, attempt_hosts=None, started_at=None):
        self.client.prepare().cast(ctx, "build_result", instance_uuid=instance_uuid,
                                   host=host, node=node, ok=ok,
                                   power_state=power_state, reason=reason,
                                   attempt_hosts=attempt_hosts or [],
                                   started_at=started_at)

    def action_result(self, ctx, instance_uuid, host, action, ok, power_state,
                      reason=None, started_at=None):
        self.client.prepare().cast(ctx, "action_result", instance_uuid=instance_uuid,
                                   host=host, action=action, ok=ok,
                                   power_state=power_state, reason=reason,
                                   started_at=started_at)

    def terminate_result(self, ctx, instance_uuid, host, ok, reason=None,
                         started_at=None):
        self.client.prepare().cast(ctx, "terminate_result",
                                   instance_uuid=instance_uuid, host=host, ok=ok,
                                   reason=reason, started_at=started_at)

    def power_state_changed(self, ctx, instance_uuid, host, power_state):
        self.client.prepare(version="1.2").cast(ctx, "power_state_changed",
                                                instance_uuid=instance_uuid, host=host,
                                                power_state=power_state)

    def migration_update(self, ctx, migration_uuid, status=None, progress=None,
                         event=None):
        """Move a migration's status (compare-and-swap along its table) and/or
        save its progress and record an instance action event. Returns
        whether the status moved (always True without a status)."""
        return self.client.prepare(version="1.3").call(
            ctx, "migration_update", migration_uuid=migration_uuid, status=status,
            progress=progress, event=event)

    def live_migration_finished(self, ctx, migration_uuid, outcome, reason=None,
                                progress=None):
        """The source reports how the migration ended: completed (the guest
        runs on the destination), or failed/cancelled/error (it runs on the
        source, restored); ``progress``: the job's last figures."""
        self.client.prepare(version="1.6").cast(
            ctx, "live_migration_finished", migration_uuid=migration_uuid,
            outcome=outcome, reason=reason, progress=progress)

    def check_server_group(self, ctx, instance_uuid, host, timeout=None):
        """Why ``host`` breaks the hard policy of the instance's server group
        (members that joined before it count), or None."""
        return self.client.prepare(version="1.5", timeout=timeout).call(
            ctx, "check_server_group", instance_uuid=instance_uuid, host=host)

    def instances_on_host(self, ctx, host, timeout=None):
        return self.client.prepare(timeout=timeout).call(ctx, "instances_on_host", host=host)
