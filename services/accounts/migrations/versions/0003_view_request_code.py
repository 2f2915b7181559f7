"""the code each view request id was answered for, so that an id cannot be replayed for another code

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: answers stored before this revision do not know their code (and expire with their period).
    with op.batch_alter_table("view_requests") as batch:
        batch.add_column(sa.Column("system", sa.String(16), nullable=True))
        batch.add_column(sa.Column("code_key", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("view_requests") as batch:
        batch.drop_column("code_key")
        batch.drop_column("system")
