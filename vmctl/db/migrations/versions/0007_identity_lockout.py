"""Identity users count their failed password authentications, for the
Keystone-style lockout ([identity] lockout_failure_attempts).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

from vmctl.db.types import Timestamp

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    # The server default only fills existing rows; the models set the value.
    with op.batch_alter_table("identity_users") as batch:
        batch.add_column(sa.Column("failed_auth_count", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("failed_auth_at", Timestamp, nullable=True))
    with op.batch_alter_table("identity_users") as batch:
        batch.alter_column("failed_auth_count", server_default=None)


def downgrade():
    with op.batch_alter_table("identity_users") as batch:
        batch.drop_column("failed_auth_at")
        batch.drop_column("failed_auth_count")
