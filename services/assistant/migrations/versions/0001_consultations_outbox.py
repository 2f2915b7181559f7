"""consultations (stored, answered, mailed) and the assistant's outbox

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the types of this revision (a migration never imports the live tables module).
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consultations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("context_code", sa.String(32), nullable=False),
        sa.Column("context_system", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("answer_claim", sa.String(36), nullable=True),
        sa.Column("answer_claimed_until", WHEN, nullable=True),
        sa.Column("answer_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("intent", sa.String(32), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("citations", sa.Text(), nullable=True),
        sa.Column("answered_at", WHEN, nullable=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("next_mail_at", WHEN, nullable=True),
        sa.Column("mail_claimed_until", WHEN, nullable=True),
        sa.Column("mail_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("mailed_at", WHEN, nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consultations"),
        sa.UniqueConstraint("account_id", "request_id", name="uq_consultations_account_id_request_id"),
    )
    op.create_index("ix_consultations_status_next_mail_at", "consultations", ["status", "next_mail_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("traceparent", sa.String(100), nullable=True),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("published_at", WHEN, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_until", WHEN, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index("ix_outbox_published_at_id", "outbox", ["published_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_published_at_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_consultations_status_next_mail_at", table_name="consultations")
    op.drop_table("consultations")
