"""The transactional outbox: an event is written with the fact it describes, a relay publishes it.

`add_event` writes a row in the caller's transaction, so the event exists exactly when the fact
does. `OutboxRelay` (outbox_relay.py) publishes pending rows to JetStream in id order and marks a row published only
after JetStream's acknowledgement; several relays on one database claim disjoint rows (a lease,
plus `FOR UPDATE SKIP LOCKED` on PostgreSQL), and a repeat that slips through anyway is dropped by
`Nats-Msg-Id` inside the duplicate window, or by the consumers' own event-id records after it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message
from opentelemetry import propagate
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.common import event_names

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table every service that publishes events keeps in its own database (the relay's contract)."""
    return Table(
        "outbox",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("traceparent", String(100), nullable=True),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, default=0, server_default="0"),
        Column("claimed_until", DateTime(timezone=True), nullable=True),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_published_at_id", "published_at", "id"),
    )


_SUBJECT = re.compile(r"medcode(\.[a-z0-9_]+)+")
MAX_EVENT_ID = 36

# How the relay opens a write transaction; a service may pass its own (one that serializes SQLite
# writers in-process, say) so that the relay's writes queue with the service's instead of racing.
WriteTransaction = Callable[[Engine], AbstractContextManager[Connection]]


def _begin(engine: Engine) -> AbstractContextManager[Connection]:
    return engine.begin()


class InvalidEvent(ValueError):
    """An event that cannot go into the outbox (bad subject, id, or a message that contradicts it)."""


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, if any, so that the publish continues the request's trace."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(event_names.TRACEPARENT)


def _occurred_at(message: Message) -> datetime:
    fields = message.DESCRIPTOR.fields_by_name
    if "occurred_at" in fields and message.HasField("occurred_at"):
        return message.occurred_at.ToDatetime(tzinfo=UTC)
    return datetime.now(UTC)


def add_event(
    conn: Connection | Session, outbox_table: Table, subject: str, message: Message, event_id: str
) -> None:
    """Write `message` to the outbox inside the caller's transaction; it is published after commit."""
    if not _SUBJECT.fullmatch(subject):
        raise InvalidEvent(f"subject {subject!r} is not medcode.<area>.<event>.v1 (lower case, no wildcards)")
    if not event_id or len(event_id) > MAX_EVENT_ID:
        raise InvalidEvent(f"event id {event_id!r} must be 1 to {MAX_EVENT_ID} characters (a UUID)")
    own_id = getattr(message, "event_id", "") if "event_id" in message.DESCRIPTOR.fields_by_name else ""
    if own_id and own_id != event_id:
        raise InvalidEvent(f"the message says event_id {own_id!r} but the outbox was given {event_id!r}")
    conn.execute(
        insert(outbox_table).values(
            event_id=event_id,
            subject=subject,
            event_type=message.DESCRIPTOR.full_name,
            payload=message.SerializeToString(deterministic=True),
            traceparent=current_traceparent(),
            occurred_at=_occurred_at(message),
            attempts=0,
        )
    )


def _utc(moment: datetime) -> datetime:
    # SQLite hands DateTime(timezone=True) back naive; everything the outbox writes is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    return _utc(moment).astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class PendingEvent:
    """One claimed outbox row, ready to publish."""

    id: int
    event_id: str
    subject: str
    event_type: str
    payload: bytes
    traceparent: str | None
    occurred_at: datetime

    def headers(self) -> dict[str, str]:
        return {
            event_names.MSG_ID: self.event_id,
            event_names.EVENT_ID: self.event_id,
            event_names.EVENT_TYPE: self.event_type,
            event_names.OCCURRED_AT: rfc3339(self.occurred_at),
        }


def _claimable(table: Table, now: datetime):
    lease_over = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
    return and_(table.c.published_at.is_(None), lease_over)


def has_claimable(engine: Engine, table: Table) -> bool:
    """A cheap read that lets an idle relay poll without taking a write lock."""
    with engine.connect() as conn:
        query = select(table.c.id).where(_claimable(table, datetime.now(UTC))).limit(1)
        return conn.execute(query).first() is not None


def claim_batch(
    engine: Engine, table: Table, limit: int, lease: timedelta, begin: WriteTransaction = _begin
) -> list[PendingEvent]:
    """Claim up to `limit` unpublished rows, lowest ids first, for `lease`; other relays skip them."""
    now = datetime.now(UTC)
    candidates = select(table.c.id).where(_claimable(table, now)).order_by(table.c.id).limit(limit)
    if engine.dialect.name == "postgresql":
        # Rows another relay is claiming right now are skipped, not waited for.
        candidates = candidates.with_for_update(skip_locked=True)
    # One UPDATE ... RETURNING: on SQLite the write lock is taken before the read, so two relays
    # never both see a row as claimable.
    claim = (
        update(table)
        .where(table.c.id.in_(candidates.scalar_subquery()), _claimable(table, now))
        .values(claimed_until=now + lease)
        .returning(
            table.c.id,
            table.c.event_id,
            table.c.subject,
            table.c.event_type,
            table.c.payload,
            table.c.traceparent,
            table.c.occurred_at,
        )
    )
    with begin(engine) as conn:
        rows = conn.execute(claim).all()
    return sorted((PendingEvent(*row) for row in rows), key=lambda event: event.id)


def finish_batch(
    engine: Engine,
    table: Table,
    published: list[int],
    failed: list[int],
    error: str | None,
    begin: WriteTransaction = _begin,
) -> None:
    """Mark acknowledged rows published and hand failed ones back for the next attempt."""
    now = datetime.now(UTC)
    with begin(engine) as conn:
        if published:
            conn.execute(
                update(table)
                .where(table.c.id.in_(published))
                .values(published_at=now, claimed_until=None, attempts=table.c.attempts + 1, last_error=None)
            )
        if failed:
            conn.execute(
                update(table)
                .where(table.c.id.in_(failed), table.c.published_at.is_(None))
                .values(claimed_until=None, attempts=table.c.attempts + 1, last_error=(error or "")[:2000])
            )


def backlog(engine: Engine, table: Table) -> int:
    """How many events wait to be published."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(table.c.published_at.is_(None))).scalar_one()


def purge_published(
    engine: Engine, table: Table, older_than: timedelta, begin: WriteTransaction = _begin
) -> int:
    """Delete rows published more than `older_than` ago (the stream keeps the events themselves)."""
    cutoff = datetime.now(UTC) - older_than
    with begin(engine) as conn:
        return conn.execute(table.delete().where(table.c.published_at < cutoff)).rowcount
