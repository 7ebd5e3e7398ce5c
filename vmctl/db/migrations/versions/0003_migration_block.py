"""Migrations remember whether they copy the disks (block migration).

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    # The server default only fills existing rows; the models set the value.
    with op.batch_alter_table("migrations") as batch:
        batch.add_column(sa.Column("block_migration", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("migrations") as batch:
        batch.alter_column("block_migration", server_default=None)


def downgrade():
    with op.batch_alter_table("migrations") as batch:
        batch.drop_column("block_migration")
