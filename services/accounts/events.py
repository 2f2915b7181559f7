"""The events the accounts service writes to its outbox, in the same transaction as the fact."""

from __future__ import annotations

import uuid
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from medcode.events.v1 import events_pb2
from sqlalchemy import Connection

from services.accounts.tables import outbox
from services.common import event_names
from services.common.outbox import add_event

PRINCIPAL_KINDS = {
    "guest": events_pb2.PRINCIPAL_KIND_GUEST,
    "account": events_pb2.PRINCIPAL_KIND_ACCOUNT,
}


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def page_viewed(
    conn: Connection,
    *,
    occurred_at: datetime,
    principal_kind: str,
    principal_id: str,
    plan: str,
    system: str,
    code: str,
    request_id: str,
    period_start: datetime,
) -> str:
    """Write a PageViewed for a new grant; returns its event id."""
    event_id = str(uuid.uuid4())
    message = events_pb2.PageViewed(
        event_id=event_id,
        occurred_at=_timestamp(occurred_at),
        principal_kind=PRINCIPAL_KINDS[principal_kind],
        principal_id=principal_id,
        plan=plan,
        system=system,
        code=code,
        request_id=request_id,
        period_start=_timestamp(period_start),
    )
    add_event(conn, outbox, event_names.PAGE_VIEWED, message, event_id)
    return event_id


def account_registered(
    conn: Connection, *, occurred_at: datetime, account_id: str, plan: str, from_guest_id: str | None
) -> str:
    event_id = str(uuid.uuid4())
    message = events_pb2.AccountRegistered(
        event_id=event_id,
        occurred_at=_timestamp(occurred_at),
        account_id=account_id,
        plan=plan,
        from_guest_id=from_guest_id or "",
    )
    add_event(conn, outbox, event_names.ACCOUNT_REGISTERED, message, event_id)
    return event_id


def plan_changed(
    conn: Connection, *, occurred_at: datetime, account_id: str, old_plan: str, new_plan: str
) -> str:
    event_id = str(uuid.uuid4())
    message = events_pb2.PlanChanged(
        event_id=event_id,
        occurred_at=_timestamp(occurred_at),
        account_id=account_id,
        old_plan=old_plan,
        new_plan=new_plan,
    )
    add_event(conn, outbox, event_names.PLAN_CHANGED, message, event_id)
    return event_id


def question_asked(
    conn: Connection, *, occurred_at: datetime, account_id: str, plan: str, intent: str
) -> str:
    """Write a QuestionAsked for a newly granted assistant question; returns its event id."""
    event_id = str(uuid.uuid4())
    message = events_pb2.QuestionAsked(
        event_id=event_id,
        occurred_at=_timestamp(occurred_at),
        account_id=account_id,
        plan=plan,
        intent=intent,
    )
    add_event(conn, outbox, event_names.QUESTION_ASKED, message, event_id)
    return event_id
