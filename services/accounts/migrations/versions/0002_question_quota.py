"""assistant questions per account and day, and the answer to each question's request id

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the types of this revision (a migration never imports the live tables module).
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "question_counters",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("account_id", "day", name="pk_question_counters"),
    )
    op.create_table(
        "question_requests",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("unlimited", sa.Boolean(), nullable=False),
        sa.Column("question_limit", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(16), nullable=False),
        sa.Column("period_end", WHEN, nullable=False),
        sa.Column("answered_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "request_id", name="pk_question_requests"),
    )
    op.create_index("ix_question_requests_answered_at", "question_requests", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_question_requests_answered_at", table_name="question_requests")
    op.drop_table("question_requests")
    op.drop_table("question_counters")
