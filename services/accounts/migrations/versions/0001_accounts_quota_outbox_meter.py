"""accounts, guests, sessions, the view quota, login throttling, the outbox and the meter's tables

Revision ID: 0001
Revises:
Create Date: 2025-06-01
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
        "accounts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("plan", sa.String(16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("plan_changed_at", WHEN, nullable=True),
        sa.Column("from_guest_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
    )
    op.create_table(
        "guests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.Column("account_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_guests"),
        sa.UniqueConstraint("token_hash", name="uq_guests_token_hash"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_guests_account_id_accounts"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_seen_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_sessions_account_id_accounts"),
    )
    op.create_index("ix_sessions_account_id", "sessions", ["account_id"])
    op.create_table(
        "view_counters",
        sa.Column("principal_id", sa.String(36), nullable=False),
        sa.Column("period_start", WHEN, nullable=False),
        sa.Column("used", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("principal_id", "period_start", name="pk_view_counters"),
    )
    op.create_table(
        "address_counters",
        sa.Column("client_network", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("client_network", "day", name="pk_address_counters"),
    )
    op.create_table(
        "view_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("principal_kind", sa.String(16), nullable=False),
        sa.Column("principal_id", sa.String(36), nullable=False),
        sa.Column("period_start", WHEN, nullable=False),
        sa.Column("system", sa.String(16), nullable=False),
        sa.Column("code_key", sa.String(32), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("granted_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_view_grants"),
        sa.UniqueConstraint(
            "principal_id",
            "period_start",
            "system",
            "code_key",
            name="uq_view_grants_principal_id_period_start_system_code_key",
        ),
    )
    op.create_table(
        "view_requests",
        sa.Column("principal_id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("unlimited", sa.Boolean(), nullable=False),
        sa.Column("plan", sa.String(16), nullable=False),
        sa.Column("period_end", WHEN, nullable=False),
        sa.Column("answered_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("principal_id", "request_id", name="pk_view_requests"),
    )
    op.create_index("ix_view_requests_answered_at", "view_requests", ["answered_at"])
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_failure_at", WHEN, nullable=False),
        sa.Column("blocked_until", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttles"),
    )
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
    op.create_table(
        "meter_applied_events",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("applied_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_meter_applied_events"),
    )
    op.create_table(
        "meter_usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("principal_kind", sa.String(16), nullable=False),
        sa.Column("principal_id", sa.String(36), nullable=False),
        sa.Column("page_views", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("registrations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("questions", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_meter_usage"),
        sa.UniqueConstraint(
            "day", "principal_kind", "principal_id", name="uq_meter_usage_day_principal_kind_principal_id"
        ),
    )


def downgrade() -> None:
    for table in (
        "meter_usage",
        "meter_applied_events",
        "outbox",
        "login_throttles",
        "view_requests",
        "view_grants",
        "address_counters",
        "view_counters",
        "sessions",
        "guests",
        "accounts",
    ):
        op.drop_table(table)
