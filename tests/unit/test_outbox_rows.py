"""The outbox's rows: what add_event writes, and how relays claim, finish and hand back rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from medcode.events.v1 import events_pb2
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import select, update

from services.accounts import tables
from services.common import event_names
from services.common.outbox import (
    InvalidEvent,
    add_event,
    backlog,
    claim_batch,
    finish_batch,
    has_claimable,
    purge_published,
)
from tests.support.events import page_viewed, sqlite_accounts

outbox = tables.outbox


@pytest.fixture
def engine(tmp_path):
    engine = sqlite_accounts(tmp_path / "accounts.db")
    yield engine
    engine.dispose()


def write(engine, count: int) -> list[str]:
    ids = []
    for n in range(count):
        event = page_viewed(f"account-{n}")
        with engine.begin() as conn:
            add_event(conn, outbox, event_names.PAGE_VIEWED, event, event.event_id)
        ids.append(event.event_id)
    return ids


def test_add_event_writes_the_payload_type_time_and_the_requests_traceparent(engine):
    event = page_viewed("a1", at=datetime(2026, 3, 4, 23, 59, 58, tzinfo=UTC))
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("AuthorizeView") as span, engine.begin() as conn:
        add_event(conn, outbox, event_names.PAGE_VIEWED, event, event.event_id)
        context = span.get_span_context()
    with engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
    assert row.event_id == event.event_id
    assert row.subject == "medcode.meter.page_viewed.v1"
    assert row.event_type == "medcode.events.v1.PageViewed"
    assert events_pb2.PageViewed.FromString(row.payload) == event
    assert row.traceparent == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert row.occurred_at.replace(tzinfo=UTC) == datetime(2026, 3, 4, 23, 59, 58, tzinfo=UTC)
    assert row.published_at is None and row.attempts == 0


def test_add_event_outside_any_trace_stores_no_traceparent(engine):
    write(engine, 1)
    with engine.connect() as conn:
        assert conn.execute(select(outbox.c.traceparent)).scalar_one() is None


def test_the_event_is_written_only_if_the_callers_transaction_commits(engine):
    event = page_viewed("a1")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        add_event(conn, outbox, event_names.PAGE_VIEWED, event, event.event_id)
        raise RuntimeError("the grant failed after the event was written")
    assert backlog(engine, outbox) == 0


@pytest.mark.parametrize(
    ("subject", "event_id", "message"),
    [
        ("medcode.meter.>", "e1", "is not medcode"),
        ("other.meter.page_viewed.v1", "e1", "is not medcode"),
        ("medcode.meter.page viewed.v1", "e1", "is not medcode"),
        ("medcode.meter.page_viewed.v1", "", "must be 1 to 36"),
        ("medcode.meter.page_viewed.v1", "x" * 37, "must be 1 to 36"),
    ],
)
def test_add_event_refuses_a_bad_subject_or_event_id(engine, subject, event_id, message):
    with pytest.raises(InvalidEvent, match=message), engine.begin() as conn:
        add_event(conn, outbox, subject, events_pb2.PageViewed(), event_id)


def test_add_event_refuses_a_message_whose_own_id_contradicts_the_event_id(engine):
    event = page_viewed("a1")
    with pytest.raises(InvalidEvent, match="the message says event_id"), engine.begin() as conn:
        add_event(conn, outbox, event_names.PAGE_VIEWED, event, str(uuid.uuid4()))


def test_a_claim_takes_the_lowest_ids_first_and_hides_them_from_other_relays(engine):
    ids = write(engine, 5)
    first = claim_batch(engine, outbox, 3, timedelta(seconds=30))
    second = claim_batch(engine, outbox, 3, timedelta(seconds=30))
    assert [event.event_id for event in first] == ids[:3]
    assert [event.event_id for event in second] == ids[3:]
    assert claim_batch(engine, outbox, 3, timedelta(seconds=30)) == []
    assert not has_claimable(engine, outbox)


def test_a_claim_whose_lease_ran_out_is_taken_again(engine):
    write(engine, 2)
    claim_batch(engine, outbox, 2, timedelta(seconds=30))
    with engine.begin() as conn:  # the relay that claimed them died 31 s ago
        conn.execute(update(outbox).values(claimed_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert len(claim_batch(engine, outbox, 10, timedelta(seconds=30))) == 2


def test_finishing_marks_acknowledged_rows_published_and_hands_failed_rows_back(engine):
    write(engine, 3)
    batch = claim_batch(engine, outbox, 3, timedelta(seconds=30))
    finish_batch(engine, outbox, [batch[0].id, batch[1].id], [batch[2].id], "TimeoutError: no PubAck")
    assert backlog(engine, outbox) == 1
    again = claim_batch(engine, outbox, 3, timedelta(seconds=30))
    assert [event.id for event in again] == [batch[2].id]
    with engine.connect() as conn:
        rows = {row.id: row for row in conn.execute(select(outbox))}
    assert rows[batch[0].id].published_at is not None and rows[batch[0].id].attempts == 1
    assert rows[batch[2].id].published_at is None
    assert rows[batch[2].id].attempts == 1 and rows[batch[2].id].last_error == "TimeoutError: no PubAck"


def test_headers_carry_the_event_id_twice_the_type_and_the_time_in_rfc3339(engine):
    event = page_viewed("a1", at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))
    with engine.begin() as conn:
        add_event(conn, outbox, event_names.PAGE_VIEWED, event, event.event_id)
    (pending,) = claim_batch(engine, outbox, 1, timedelta(seconds=30))
    assert pending.headers() == {
        "Nats-Msg-Id": event.event_id,
        "Medcode-Event-Id": event.event_id,
        "Medcode-Event-Type": "medcode.events.v1.PageViewed",
        "Medcode-Occurred-At": "2026-01-02T03:04:05.678000Z",
    }


def test_purge_removes_only_rows_published_long_enough_ago(engine):
    write(engine, 3)
    batch = claim_batch(engine, outbox, 2, timedelta(seconds=30))
    finish_batch(engine, outbox, [event.id for event in batch], [], None)
    with engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == batch[0].id)
            .values(published_at=datetime.now(UTC) - timedelta(days=8))
        )
    assert purge_published(engine, outbox, timedelta(days=7)) == 1
    with engine.connect() as conn:
        assert len(conn.execute(select(outbox.c.id)).all()) == 2
