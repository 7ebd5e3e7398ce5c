"""Fields a server create may set: the guest hostname (2.90).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("instances", sa.Column("hostname", sa.String(255), nullable=True))


def downgrade():
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("hostname")
