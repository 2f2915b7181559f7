"""Storing consultations and moving them through their states, each step one conditional UPDATE.

Submitting writes the consultation and its ConsultationRequested event in one transaction (the
outbox). Answering is claimed with a fresh claim id and a lease: only the holder of the current
claim can store the answer, so a redelivered event, a second replica or a worker that outlived its
lease never answers twice. Mailing is claimed the same way, and a failed send only pushes
`next_mail_at` later: the row, not a message in memory, is what keeps the mail from being lost.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from medcode.events.v1 import events_pb2
from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from services.assistant.consultation_tables import (
    ANSWERED,
    ANSWERING,
    FAILED,
    MAILED,
    QUEUED,
    consultations,
    outbox,
)
from services.common import event_names
from services.common.outbox import add_event
from services.common.transactions import write_transaction

# The subject the worker consumes (medcode.<area>.<event>.v1; the stream takes medcode.>).
CONSULTATION_REQUESTED = event_names.CONSULTATION_REQUESTED


@dataclass(frozen=True)
class Citation:
    system: int
    code: str
    title: str


@dataclass(frozen=True)
class ConsultationRecord:
    id: str
    account_id: str
    email: str
    question: str
    context_code: str
    context_system: int
    status: str
    created_at: datetime
    intent: str = ""
    answer: str | None = None
    citations: tuple[Citation, ...] = ()
    answered_at: datetime | None = None
    message_id: str | None = None
    mail_attempts: int = 0
    answer_attempts: int = 0
    last_error: str | None = None
    mailed_at: datetime | None = None
    failure_reason: str | None = None


def _record(row) -> ConsultationRecord:
    citations = tuple(Citation(**c) for c in json.loads(row.citations)) if row.citations else ()
    return ConsultationRecord(
        id=row.id,
        account_id=row.account_id,
        email=row.email,
        question=row.question,
        context_code=row.context_code,
        context_system=row.context_system,
        status=row.status,
        created_at=row.created_at,
        intent=row.intent,
        answer=row.answer,
        citations=citations,
        answered_at=row.answered_at,
        message_id=row.message_id,
        mail_attempts=row.mail_attempts,
        answer_attempts=row.answer_attempts,
        last_error=row.last_error,
        mailed_at=row.mailed_at,
        failure_reason=row.failure_reason,
    )


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def create(
    conn: Connection,
    *,
    account_id: str,
    request_id: str,
    email: str,
    question: str,
    context_code: str,
    context_system: int,
    now: datetime,
) -> tuple[str, bool]:
    """Store a consultation and its event; (id, False) when this request id created one already."""
    existing = conn.execute(
        select(consultations.c.id).where(
            consultations.c.account_id == account_id, consultations.c.request_id == request_id
        )
    ).scalar()
    if existing is not None:
        return existing, False
    consultation_id = str(uuid.uuid4())
    conn.execute(
        insert(consultations).values(
            id=consultation_id,
            account_id=account_id,
            request_id=request_id,
            email=email,
            question=question,
            context_code=context_code,
            context_system=context_system,
            status=QUEUED,
            created_at=now,
        )
    )
    event_id = str(uuid.uuid4())
    event = events_pb2.ConsultationRequested(
        event_id=event_id,
        occurred_at=_timestamp(now),
        consultation_id=consultation_id,
        account_id=account_id,
    )
    add_event(conn, outbox, CONSULTATION_REQUESTED, event, event_id)
    return consultation_id, True


def read(engine: Engine, consultation_id: str) -> ConsultationRecord | None:
    with engine.connect() as conn:
        row = conn.execute(select(consultations).where(consultations.c.id == consultation_id)).first()
    return _record(row) if row is not None else None


# -- answering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerClaim:
    """The outcome of trying to claim a consultation for answering."""

    # "claimed": ours to answer; "done": answered (or failed) before; "busy": another worker holds
    # a live claim; "missing": no such consultation.
    outcome: str
    record: ConsultationRecord | None = None
    claim_id: str = ""


def claim_for_answering(engine: Engine, consultation_id: str, now: datetime, lease: timedelta) -> AnswerClaim:
    """Take a queued consultation (or one whose answering claim ran out) for `lease`."""
    claim_id = str(uuid.uuid4())
    c = consultations.c
    claimable = or_(c.status == QUEUED, and_(c.status == ANSWERING, c.answer_claimed_until < now))
    with write_transaction(engine) as conn:
        row = conn.execute(
            update(consultations)
            .where(c.id == consultation_id, claimable)
            .values(
                status=ANSWERING,
                answer_claim=claim_id,
                answer_claimed_until=now + lease,
                answer_attempts=c.answer_attempts + 1,
            )
            .returning(*consultations.c)
        ).first()
        if row is not None:
            return AnswerClaim("claimed", _record(row), claim_id)
        status = conn.execute(select(c.status).where(c.id == consultation_id)).scalar()
    if status is None:
        return AnswerClaim("missing")
    return AnswerClaim("busy" if status == ANSWERING else "done")


def store_answer(
    engine: Engine,
    consultation_id: str,
    claim_id: str,
    *,
    answer: str,
    citations: list[Citation],
    intent: str,
    message_id: str,
    now: datetime,
) -> bool:
    """Store the answer and make the mail due now; False when the claim was lost (someone else answers)."""
    c = consultations.c
    with write_transaction(engine) as conn:
        stored = conn.execute(
            update(consultations)
            .where(c.id == consultation_id, c.status == ANSWERING, c.answer_claim == claim_id)
            .values(
                status=ANSWERED,
                answer=answer,
                citations=json.dumps([asdict(citation) for citation in citations]),
                intent=intent[:32],
                answered_at=now,
                answer_claim=None,
                answer_claimed_until=None,
                message_id=message_id,
                next_mail_at=now,
                last_error=None,
            )
        ).rowcount
    return stored == 1


def release_answering(
    engine: Engine, consultation_id: str, claim_id: str, error: str, *, give_up: bool, now: datetime
) -> None:
    """Hand a claim back after a failure: queued for the next delivery, or failed for good."""
    c = consultations.c
    values = (
        {"status": FAILED, "failure_reason": f"could not be answered: {error}"[:2000]}
        if give_up
        else {"status": QUEUED}
    )
    with write_transaction(engine) as conn:
        conn.execute(
            update(consultations)
            .where(c.id == consultation_id, c.status == ANSWERING, c.answer_claim == claim_id)
            .values(answer_claim=None, answer_claimed_until=None, last_error=error[:2000], **values)
        )


# -- mailing -------------------------------------------------------------------------------------


def _mail_due(now: datetime):
    c = consultations.c
    return and_(
        c.status == ANSWERED,
        c.next_mail_at <= now,
        or_(c.mail_claimed_until.is_(None), c.mail_claimed_until < now),
    )


def has_mail_due(engine: Engine, now: datetime) -> bool:
    """A read without a write lock, for idle polls."""
    with engine.connect() as conn:
        return conn.execute(select(consultations.c.id).where(_mail_due(now)).limit(1)).first() is not None


def claim_mail(engine: Engine, now: datetime, lease: timedelta, limit: int) -> list[ConsultationRecord]:
    """Claim up to `limit` answered consultations whose mail is due, for `lease`; other mailers skip them."""
    c = consultations.c
    candidates = select(c.id).where(_mail_due(now)).order_by(c.next_mail_at).limit(limit)
    if engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    with write_transaction(engine) as conn:
        rows = conn.execute(
            update(consultations)
            .where(c.id.in_(candidates.scalar_subquery()), _mail_due(now))
            .values(mail_claimed_until=now + lease)
            .returning(*consultations.c)
        ).all()
    return [_record(row) for row in rows]


def mark_mailed(engine: Engine, consultation_id: str, now: datetime) -> None:
    c = consultations.c
    with write_transaction(engine) as conn:
        conn.execute(
            update(consultations)
            .where(c.id == consultation_id, c.status == ANSWERED)
            .values(
                status=MAILED,
                mailed_at=now,
                mail_claimed_until=None,
                mail_attempts=c.mail_attempts + 1,
                last_error=None,
            )
        )


def mail_failed(
    engine: Engine, consultation_id: str, error: str, *, retry_at: datetime | None, now: datetime
) -> None:
    """Record a failed send: try again at `retry_at`, or (None) fail for good (the address was refused)."""
    c = consultations.c
    values = (
        {"next_mail_at": retry_at}
        if retry_at is not None
        else {"status": FAILED, "failure_reason": f"the mail was refused: {error}"[:2000]}
    )
    with write_transaction(engine) as conn:
        conn.execute(
            update(consultations)
            .where(c.id == consultation_id, c.status == ANSWERED)
            .values(
                mail_claimed_until=None, mail_attempts=c.mail_attempts + 1, last_error=error[:2000], **values
            )
        )


def backlog(engine: Engine) -> dict[str, int]:
    """How many consultations wait, per state (for logs and operators)."""
    c = consultations.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.status, func.count())
            .where(c.status.in_((QUEUED, ANSWERING, ANSWERED)))
            .group_by(c.status)
        ).all()
    return {status: count for status, count in rows}
