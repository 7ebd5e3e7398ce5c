"""Identity: users, projects, roles, role assignments, revoked tokens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

from vmctl.db.types import Timestamp

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE_OPTS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _timestamps():
    return [sa.Column("created_at", Timestamp, nullable=False),
            sa.Column("updated_at", Timestamp, nullable=True)]


def upgrade():
    op.create_table(
        "identity_users",
        *_timestamps(),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("domain_id", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("default_project_id", sa.String(64), nullable=True),
        sa.Column("tokens_valid_after", Timestamp, nullable=True),
        sa.UniqueConstraint("domain_id", "name", name="uniq_identity_users_domain_name"),
        **TABLE_OPTS,
    )
    op.create_table(
        "identity_projects",
        *_timestamps(),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("domain_id", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        sa.UniqueConstraint("domain_id", "name", name="uniq_identity_projects_domain_name"),
        **TABLE_OPTS,
    )
    op.create_table(
        "identity_roles",
        *_timestamps(),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        sa.UniqueConstraint("name", name="uniq_identity_roles_name"),
        **TABLE_OPTS,
    )
    op.create_table(
        "identity_role_assignments",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("identity_users.id"),
                  primary_key=True),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("identity_projects.id"),
                  primary_key=True),
        sa.Column("role_id", sa.String(64), sa.ForeignKey("identity_roles.id"),
                  primary_key=True),
        **TABLE_OPTS,
    )
    op.create_table(
        "identity_revoked_tokens",
        sa.Column("audit_id", sa.String(64), primary_key=True),
        sa.Column("expires_at", Timestamp, nullable=False),
        **TABLE_OPTS,
    )


def downgrade():
    op.drop_table("identity_revoked_tokens")
    op.drop_table("identity_role_assignments")
    op.drop_table("identity_roles")
    op.drop_table("identity_projects")
    op.drop_table("identity_users")
