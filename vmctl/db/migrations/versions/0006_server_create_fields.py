"""Fields a server create may set: the host to build on (2.74), the guest
hostname (2.90); an
evacuation that keeps a stopped server stopped (2.95).

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
    op.add_column("instances", sa.Column("requested_host", sa.String(255), nullable=True))
    # The server default only fills existing rows; the models set the value.
    with op.batch_alter_table("migrations") as batch:
        batch.add_column(sa.Column("keep_stopped", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("migrations") as batch:
        batch.alter_column("keep_stopped", server_default=None)


def downgrade():
    with op.batch_alter_table("migrations") as batch:
        batch.drop_column("keep_stopped")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("requested_host")
        batch.drop_column("hostname")
