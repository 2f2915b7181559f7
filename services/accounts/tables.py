"""The accounts service's tables, on one MetaData; migrations/versions/ creates them (keep both in step).

outbox, meter_applied_events and meter_usage are shared with the outbox relay and the meter
(services/common/outbox.py, services/accounts/meter.py), which use these Table objects by import.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from services.common.db import UtcDateTime
from services.common.outbox import outbox_table

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("plan", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("plan_changed_at", UtcDateTime, nullable=True),
    Column("from_guest_id", String(36), nullable=True),
)

guests = Table(
    "guests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("client_address", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    # Set when the guest registered: its token no longer works, the account carries on.
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

# Views used per principal and period: AuthorizeView's conditional UPDATE is the quota's lock.
view_counters = Table(
    "view_counters",
    metadata,
    Column("principal_id", String(36), primary_key=True),
    Column("period_start", UtcDateTime, primary_key=True),
    Column("used", Integer, nullable=False, default=0, server_default="0"),
)

# Guest views per client address (an IPv4 address or an IPv6 /64) and UTC day.
address_counters = Table(
    "address_counters",
    metadata,
    Column("client_network", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("used", Integer, nullable=False, default=0, server_default="0"),
)

# One row per code granted to a principal in a period: re-opening it is free.
view_grants = Table(
    "view_grants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("principal_kind", String(16), nullable=False),
    Column("principal_id", String(36), nullable=False),
    Column("period_start", UtcDateTime, nullable=False),
    Column("system", String(16), nullable=False),
    Column("code_key", String(32), nullable=False),
    Column("code", String(32), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
    UniqueConstraint("principal_id", "period_start", "system", "code_key"),
)

# The answer given to each request id, so that a retry gets the same one.
view_requests = Table(
    "view_requests",
    metadata,
    Column("principal_id", String(36), primary_key=True),
    Column("request_id", String(64), primary_key=True),
    Column("allowed", Boolean, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("unlimited", Boolean, nullable=False),
    Column("plan", String(16), nullable=False),
    Column("period_end", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime, nullable=False, index=True),
    # The page the answer was for: a request id replayed for another code is refused (null on
    # answers stored before migration 0003).
    Column("system", String(16), nullable=True),
    Column("code_key", String(32), nullable=True),
)

# Assistant questions asked per account and UTC day: AuthorizeQuestion's conditional upsert is the lock.
question_counters = Table(
    "question_counters",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("used", Integer, nullable=False, default=0, server_default="0"),
)

# The answer given to each question's request id, so that a retry gets the same one (and counts once).
question_requests = Table(
    "question_requests",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("request_id", String(64), primary_key=True),
    Column("allowed", Boolean, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("unlimited", Boolean, nullable=False),
    Column("question_limit", Integer, nullable=False),
    Column("plan", String(16), nullable=False),
    Column("period_end", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime, nullable=False, index=True),
)

# Failed logins per throttle key (`account:<email>` or `address:<network>`).
login_throttles = Table(
    "login_throttles",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("failures", Integer, nullable=False, default=0, server_default="0"),
    Column("last_failure_at", UtcDateTime, nullable=False),
    Column("blocked_until", UtcDateTime, nullable=True),
)

# The contract with the outbox relay and the meter (names and columns exactly as agreed).
outbox = outbox_table(metadata)

meter_applied_events = Table(
    "meter_applied_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

meter_usage = Table(
    "meter_usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    Column("principal_kind", String(16), nullable=False),
    Column("principal_id", String(36), nullable=False),
    Column("page_views", Integer, nullable=False, default=0, server_default="0"),
    Column("registrations", Integer, nullable=False, default=0, server_default="0"),
    Column("questions", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("day", "principal_kind", "principal_id"),
)
