"""Server groups and their members; host aggregates and their hosts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

from vmctl.db.types import Timestamp

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE_OPTS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _timestamps():
    return [
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=True),
    ]


def upgrade():
    op.create_table(
        "instance_groups",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("policy", sa.String(255), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        **TABLE_OPTS,
    )
    op.create_table(
        "instance_group_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_id", sa.Integer(),
                  sa.ForeignKey("instance_groups.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("instance_uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("created_at", Timestamp, nullable=False),
        **TABLE_OPTS,
    )
    op.create_table(
        "aggregates",
        *_timestamps(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        **TABLE_OPTS,
    )
    op.create_table(
        "aggregate_hosts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("aggregate_id", sa.Integer(),
                  sa.ForeignKey("aggregates.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("host", sa.String(255), nullable=False, index=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.UniqueConstraint("aggregate_id", "host",
                            name="uniq_aggregate_hosts_aggregate_host"),
        **TABLE_OPTS,
    )


def downgrade():
    op.drop_table("aggregate_hosts")
    op.drop_table("aggregates")
    op.drop_table("instance_group_members")
    op.drop_table("instance_groups")
