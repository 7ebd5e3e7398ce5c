"""Initial schema: services, compute nodes, flavors, instances, actions,
migrations and resource claims.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from alembic import op
import sqlalchemy as sa

from vmctl.db.types import Ratio
from vmctl.db.types import Timestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Explicit on MySQL/MariaDB so a server whose default charset is latin1 (or
# whose default engine is not transactional) still gets a usable schema.
TABLE_OPTS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _timestamps():
    return [
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=True),
    ]


def upgrade():
    op.create_table(
        "services",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("binary", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(255), nullable=True),
        sa.Column("forced_down", sa.Boolean(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=True),
        sa.Column("version", sa.String(32), nullable=False),
        sa.UniqueConstraint("host", "binary", name="uniq_services_host_binary"),
        **TABLE_OPTS,
    )

    op.create_table(
        "compute_nodes",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("service_id", sa.Integer(),
                  sa.ForeignKey("services.id", ondelete="SET NULL"), nullable=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("hypervisor_hostname", sa.String(255), nullable=False),
        sa.Column("hypervisor_type", sa.String(64), nullable=False),
        sa.Column("hypervisor_version", sa.Integer(), nullable=False),
        sa.Column("host_ip", sa.String(64), nullable=True),
        sa.Column("availability_zone", sa.String(255), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("local_gb", sa.Integer(), nullable=False),
        sa.Column("vcpus_used", sa.Integer(), nullable=False),
        sa.Column("memory_mb_used", sa.Integer(), nullable=False),
        sa.Column("local_gb_used", sa.Integer(), nullable=False),
        sa.Column("running_vms", sa.Integer(), nullable=False),
        sa.Column("cpu_allocation_ratio", Ratio, nullable=False),
        sa.Column("ram_allocation_ratio", Ratio, nullable=False),
        sa.Column("disk_allocation_ratio", Ratio, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.UniqueConstraint("host", "hypervisor_hostname",
                            name="uniq_compute_nodes_host_node"),
        **TABLE_OPTS,
    )

    op.create_table(
        "flavors",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("flavorid", sa.String(255), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("root_gb", sa.Integer(), nullable=False),
        sa.Column("ephemeral_gb", sa.Integer(), nullable=False),
        sa.Column("swap", sa.Integer(), nullable=False),
        sa.Column("rxtx_factor", Ratio, nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        **TABLE_OPTS,
    )

    op.create_table(
        "flavor_extra_specs",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("flavor_id", sa.Integer(),
                  sa.ForeignKey("flavors.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.UniqueConstraint("flavor_id", "key",
                            name="uniq_flavor_extra_specs_flavor_key"),
        **TABLE_OPTS,
    )

    op.create_table(
        "instances",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("reservation_id", sa.String(255), nullable=False),
        sa.Column("launch_index", sa.Integer(), nullable=False),
        sa.Column("vm_state", sa.String(255), nullable=False),
        sa.Column("task_state", sa.String(255), nullable=True),
        sa.Column("power_state", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("node", sa.String(255), nullable=True),
        sa.Column("availability_zone", sa.String(255), nullable=True),
        sa.Column("flavor", sa.JSON(), nullable=False),
        sa.Column("image_ref", sa.String(255), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("launched_at", Timestamp, nullable=True),
        sa.Column("terminated_at", Timestamp, nullable=True),
        sa.Column("deleted_at", Timestamp, nullable=True),
        sa.Column("deleted", sa.Integer(), nullable=False),
        **TABLE_OPTS,
    )
    op.create_index("instances_project_deleted_idx", "instances",
                    ["project_id", "deleted"])
    op.create_index("instances_host_deleted_idx", "instances", ["host", "deleted"])

    op.create_table(
        "instance_faults",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(255), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        **TABLE_OPTS,
    )
    op.create_index("ix_instance_faults_instance_uuid", "instance_faults",
                    ["instance_uuid"])

    op.create_table(
        "instance_actions",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("action", sa.String(255), nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("start_time", Timestamp, nullable=False),
        sa.Column("finish_time", Timestamp, nullable=True),
        sa.Column("message", sa.String(255), nullable=True),
        **TABLE_OPTS,
    )
    op.create_index("instance_actions_uuid_req_idx", "instance_actions",
                    ["instance_uuid", "request_id"])

    op.create_table(
        "instance_actions_events",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("action_id", sa.Integer(),
                  sa.ForeignKey("instance_actions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("event", sa.String(255), nullable=False),
        sa.Column("start_time", Timestamp, nullable=False),
        sa.Column("finish_time", Timestamp, nullable=True),
        sa.Column("result", sa.String(255), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        **TABLE_OPTS,
    )
    op.create_index("ix_instance_actions_events_action_id",
                    "instance_actions_events", ["action_id"])

    op.create_table(
        "migrations",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("migration_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("source_compute", sa.String(255), nullable=True),
        sa.Column("source_node", sa.String(255), nullable=True),
        sa.Column("dest_compute", sa.String(255), nullable=True),
        sa.Column("dest_node", sa.String(255), nullable=True),
        sa.Column("old_flavor", sa.JSON(), nullable=True),
        sa.Column("new_flavor", sa.JSON(), nullable=True),
        sa.Column("memory_total", sa.BigInteger(), nullable=True),
        sa.Column("memory_processed", sa.BigInteger(), nullable=True),
        sa.Column("memory_remaining", sa.BigInteger(), nullable=True),
        sa.Column("disk_total", sa.BigInteger(), nullable=True),
        sa.Column("disk_processed", sa.BigInteger(), nullable=True),
        sa.Column("disk_remaining", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("project_id", sa.String(255), nullable=True),
        sa.Column("completed_at", Timestamp, nullable=True),
        **TABLE_OPTS,
    )
    op.create_index("migrations_instance_status_idx", "migrations",
                    ["instance_uuid", "status"])

    op.create_table(
        "resource_claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("consumer_uuid", sa.String(36), nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("compute_node_id", sa.Integer(),
                  sa.ForeignKey("compute_nodes.id"), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("disk_gb", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.UniqueConstraint("consumer_uuid", "compute_node_id",
                            name="uniq_claims_consumer_node"),
        **TABLE_OPTS,
    )
    op.create_index("ix_resource_claims_consumer_uuid", "resource_claims",
                    ["consumer_uuid"])
    op.create_index("ix_resource_claims_instance_uuid", "resource_claims",
                    ["instance_uuid"])
    op.create_index("ix_resource_claims_compute_node_id", "resource_claims",
                    ["compute_node_id"])


def downgrade():
    # Children before parents; dropping a table drops its indexes.
    for table in ("resource_claims", "migrations", "instance_actions_events",
                  "instance_actions", "instance_faults", "instances",
                  "flavor_extra_specs", "flavors", "compute_nodes", "services"):
        op.drop_table(table)
