"""The assistant's question quota: questions per account and UTC day, granted by a conditional upsert.

One AuthorizeQuestion is one transaction: the stored answer for the request id, the day's counter
and the QuestionAsked outbox event commit together or not at all. The counter only ever rises
through `INSERT ... ON CONFLICT DO UPDATE SET used = used + 1 WHERE used < :limit`, evaluated on the
locked row (PostgreSQL) or under the single write lock (SQLite), so no number of concurrent callers
or replicas takes an account past its plan. Two calls racing with one request id end in a
unique-constraint error on question_requests; the caller runs the transaction again and finds the
stored answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import SimpleNamespace

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from services.accounts import events
from services.accounts.errors import InvalidArgument, NotAuthenticated
from services.accounts.plans import Plan, day_of
from services.accounts.sessions import GUEST_KIND, Principal
from services.accounts.tables import question_counters, question_requests
from services.accounts.tokens import is_guest_token

GRANTED = "GRANTED"
QUOTA_EXHAUSTED = "QUOTA_EXHAUSTED"
ACCOUNT_REQUIRED = "ACCOUNT_REQUIRED"
MAX_INTENT_LENGTH = 64
_INTENT = re.compile(r"^[a-z0-9_]*$")


@dataclass(frozen=True)
class QuestionDecision:
    allowed: bool
    reason: str
    remaining: int
    unlimited: bool
    limit: int
    plan: str
    period_end: datetime
    account_id: str
    # True when this is the stored answer to an earlier call with the same request id.
    replayed: bool = False


def checked_intent(intent: str) -> str:
    """The intent as the assistant names it (`code_meaning`), or empty; only the meter reads it."""
    intent = intent.strip().lower()
    if len(intent) > MAX_INTENT_LENGTH or not _INTENT.match(intent):
        raise InvalidArgument(
            "intent",
            f"intent must be at most {MAX_INTENT_LENGTH} lower-case letters, digits or _ (such as code_meaning)",
            "INTENT_INVALID",
        )
    return intent


ACCOUNT_REQUIRED_MESSAGE = "the assistant is for accounts: register (it is free) or log in, then ask again"


def require_account(principal: Principal) -> None:
    """Guests cannot ask: the assistant is for accounts, and the message says how to get one."""
    if principal.kind == GUEST_KIND:
        raise NotAuthenticated(ACCOUNT_REQUIRED_MESSAGE, ACCOUNT_REQUIRED)


def refuse_guest_token(token: str) -> None:
    """A guest's token is refused before any lookup (an expired one too: registering is the way on)."""
    if is_guest_token(token):
        raise NotAuthenticated(ACCOUNT_REQUIRED_MESSAGE, ACCOUNT_REQUIRED)


STORED_ANSWER = select(question_requests).where(
    question_requests.c.account_id == bindparam("account_id"),
    question_requests.c.request_id == bindparam("request_id"),
)
STORE_ANSWER = insert(question_requests)


@cache
def _upserts(dialect: str) -> SimpleNamespace:
    """The counting statements in the dialect's own INSERT (both speak ON CONFLICT)."""
    insert_of = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    counter = insert_of(question_counters).values(used=1)
    key = [question_counters.c.account_id, question_counters.c.day]
    raise_count = {"used": question_counters.c.used + 1}
    return SimpleNamespace(
        count_limited=counter.on_conflict_do_update(
            index_elements=key, set_=raise_count, where=question_counters.c.used < bindparam("limit")
        ).returning(question_counters.c.used),
        count_unlimited=counter.on_conflict_do_update(index_elements=key, set_=raise_count).returning(
            question_counters.c.used
        ),
    )


def authorize_question(
    conn: Connection, principal: Principal, plan: Plan, request_id: str, intent: str, now: datetime
) -> QuestionDecision:
    """Grant or refuse one assistant question; call inside a write transaction (see transactions.py)."""
    require_account(principal)
    stored = conn.execute(STORED_ANSWER, {"account_id": principal.id, "request_id": request_id}).first()
    if stored is not None:
        return QuestionDecision(
            stored.allowed,
            stored.reason,
            stored.remaining,
            stored.unlimited,
            stored.question_limit,
            stored.plan,
            stored.period_end,
            principal.id,
            True,
        )
    day = day_of(now)
    counter_key = {"account_id": principal.id, "day": day.start.date()}
    upserts = _upserts(conn.dialect.name)
    if plan.questions_per_day is None:
        used = conn.execute(upserts.count_unlimited, counter_key).scalar_one()
    elif plan.questions_per_day > 0:
        used = conn.execute(upserts.count_limited, {**counter_key, "limit": plan.questions_per_day}).scalar()
    else:
        used = None
    limit = plan.questions_per_day or 0
    if used is None:
        decision = QuestionDecision(False, QUOTA_EXHAUSTED, 0, False, limit, plan.name, day.end, principal.id)
    else:
        decision = QuestionDecision(
            True,
            GRANTED,
            plan.questions_left(used),
            plan.unlimited_questions,
            limit,
            plan.name,
            day.end,
            principal.id,
        )
        events.question_asked(conn, occurred_at=now, account_id=principal.id, plan=plan.name, intent=intent)
    conn.execute(
        STORE_ANSWER,
        {
            "account_id": principal.id,
            "request_id": request_id,
            "allowed": decision.allowed,
            "reason": decision.reason,
            "remaining": decision.remaining,
            "unlimited": decision.unlimited,
            "question_limit": decision.limit,
            "plan": decision.plan,
            "period_end": decision.period_end,
            "answered_at": now,
        },
    )
    return decision
