"""The meter end to end: outbox → relay → JetStream → meter → meter_usage, and the trace across it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from medcode.events.v1 import events_pb2
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from services.accounts import tables
from services.accounts.meter import start_meter
from services.common import event_names
from services.common.outbox import add_event
from services.common.outbox_relay import start_outbox_relay
from tests.support.events import engine as engine
from tests.support.events import eventually, page_viewed, registered, usage_totals
from tests.support.events import nats_server as nats_server


def commit(engine, subject, *events):
    with engine.begin() as conn:
        for event in events:
            add_event(conn, tables.outbox, subject, event, event.event_id)


def usage_rows(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(tables.meter_usage)).all()
    return {
        (row.day, row.principal_kind, row.principal_id): (row.page_views, row.registrations, row.questions)
        for row in rows
    }


async def test_page_views_and_registrations_are_counted_per_utc_day_and_principal(engine, nats_server):
    before_midnight = datetime(2026, 5, 31, 23, 59, 59, tzinfo=UTC)
    after_midnight = datetime(2026, 6, 1, 0, 0, 1, tzinfo=UTC)
    commit(engine, event_names.ACCOUNT_REGISTERED, registered("acct-1", at=before_midnight))
    commit(
        engine,
        event_names.PAGE_VIEWED,
        page_viewed("acct-1", at=before_midnight),
        page_viewed("acct-1", at=before_midnight, code="I10"),
        page_viewed("acct-1", at=after_midnight),
        page_viewed("guest-1", kind="guest", at=after_midnight),
    )
    relay = await start_outbox_relay(engine, tables.outbox, nats_server.url)
    meter = await start_meter(engine, nats_server.url)
    try:
        await eventually(lambda: usage_totals(engine)["applied"] == 5, what="five events applied")
    finally:
        await meter.stop()
        await relay.stop()

    assert usage_rows(engine) == {
        (date(2026, 5, 31), "account", "acct-1"): (2, 1, 0),
        (date(2026, 6, 1), "account", "acct-1"): (1, 0, 0),
        (date(2026, 6, 1), "guest", "guest-1"): (1, 0, 0),
    }


async def test_a_plan_change_is_acknowledged_without_counting_anything(engine, nats_server):
    change = events_pb2.PlanChanged(event_id="5b0f0c1e-0000-4000-8000-000000000001", account_id="acct-1")
    change.occurred_at.FromDatetime(datetime.now(UTC))
    commit(engine, event_names.PLAN_CHANGED, change)
    commit(engine, event_names.PAGE_VIEWED, page_viewed("acct-1"))
    relay = await start_outbox_relay(engine, tables.outbox, nats_server.url)
    meter = await start_meter(engine, nats_server.url)
    try:
        await eventually(lambda: meter.stats.uncounted == 1 and meter.stats.applied == 1, what="both events")
    finally:
        await meter.stop()
        await relay.stop()
    assert usage_totals(engine) == {"page_views": 1, "registrations": 0, "applied": 1}


async def test_the_meters_span_is_a_consumer_span_in_the_requests_trace(engine, nats_server):
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    event = page_viewed("acct-1")
    with provider.get_tracer("accounts").start_as_current_span("AuthorizeView") as request_span:
        commit(engine, event_names.PAGE_VIEWED, event)
    relay = await start_outbox_relay(engine, tables.outbox, nats_server.url, tracer_provider=provider)
    meter = await start_meter(engine, nats_server.url, tracer_provider=provider)
    try:
        await eventually(lambda: usage_totals(engine)["applied"] == 1, what="the event applied")
        await eventually(
            lambda: any(span.kind == SpanKind.CONSUMER for span in spans.get_finished_spans()),
            what="the consumer span ended",
        )
    finally:
        await meter.stop()
        await relay.stop()

    finished = spans.get_finished_spans()
    (publish,) = [span for span in finished if span.kind == SpanKind.PRODUCER]
    (process,) = [span for span in finished if span.kind == SpanKind.CONSUMER]
    assert process.name == "process medcode.meter.page_viewed.v1"
    assert process.context.trace_id == request_span.get_span_context().trace_id
    assert process.parent.span_id == publish.context.span_id
    assert process.attributes["messaging.system"] == "nats"
    assert process.attributes["messaging.message.id"] == event.event_id
    assert process.attributes["messaging.consumer.group.name"] == "meter"
