"""The assistant database's tables, on one MetaData; migrations/versions/ creates them (keep both in step).

A consultation row is also its own state machine: queued -> answering -> answered -> mailed (or
failed). The worker and the mailer move it on with conditional UPDATEs, so that a redelivered event
or a second replica never answers or mails it twice. The outbox has exactly the columns the shared
relay (services/common/outbox.py) expects.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from services.common.db import UtcDateTime
from services.common.outbox import outbox_table

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

QUEUED = "queued"
ANSWERING = "answering"
ANSWERED = "answered"
MAILED = "mailed"
FAILED = "failed"
STATUSES = (QUEUED, ANSWERING, ANSWERED, MAILED, FAILED)

consultations = Table(
    "consultations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    # The caller's request id: a retried SubmitConsultation finds the consultation it created.
    Column("request_id", String(64), nullable=False),
    Column("email", String(320), nullable=False),
    Column("question", Text, nullable=False),
    Column("context_code", String(32), nullable=False, default=""),
    Column("context_system", Integer, nullable=False, default=0, server_default="0"),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Answering: which worker holds it (a fresh id per claim) and until when.
    Column("answer_claim", String(36), nullable=True),
    Column("answer_claimed_until", UtcDateTime, nullable=True),
    Column("answer_attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("intent", String(32), nullable=False, default=""),
    Column("answer", Text, nullable=True),
    # JSON: [{"system": <CodeSystem number>, "code": "E11.9", "title": "..."}]
    Column("citations", Text, nullable=True),
    Column("answered_at", UtcDateTime, nullable=True),
    # Mailing: fixed when answered, so that a re-sent mail carries the same Message-ID.
    Column("message_id", String(200), nullable=True),
    Column("next_mail_at", UtcDateTime, nullable=True),
    Column("mail_claimed_until", UtcDateTime, nullable=True),
    Column("mail_attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("mailed_at", UtcDateTime, nullable=True),
    Column("failure_reason", Text, nullable=True),
    UniqueConstraint("account_id", "request_id"),
    Index("ix_consultations_status_next_mail_at", "status", "next_mail_at"),
)

# The contract with the outbox relay (names and columns as services/common/outbox.py uses them).
outbox = outbox_table(metadata)
