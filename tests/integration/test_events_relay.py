"""The outbox relay against a real nats-server: what it publishes, when it marks a row sent, its spans."""

from __future__ import annotations

import asyncio

import pytest
from medcode.events.v1 import events_pb2
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from services.accounts import tables
from services.common import event_names, nats_client
from services.common.outbox import add_event
from services.common.outbox_relay import start_outbox_relay
from tests.support.events import engine as engine
from tests.support.events import eventually, page_viewed, unpublished, write_page_view
from tests.support.events import js as js
from tests.support.events import nats_server as nats_server

outbox = tables.outbox


@pytest.fixture
def spans():
    return InMemorySpanExporter()


@pytest.fixture
def provider(spans):
    """A tracer provider as every service process installs one, recording into `spans`."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider


def outbox_rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(outbox).order_by(outbox.c.id)).all()


async def stream_messages(js, count: int):
    return [await js.get_msg(event_names.STREAM, seq) for seq in range(1, count + 1)]


async def test_pending_rows_are_published_in_id_order_with_their_headers_and_marked_sent(
    engine, nats_server, js, provider
):
    ids = [write_page_view(engine, f"account-{n % 7}") for n in range(250)]
    relay = await start_outbox_relay(
        engine, outbox, nats_server.url, batch_size=100, tracer_provider=provider
    )
    try:
        await eventually(lambda: unpublished(engine) == 0, what="the backlog drained")
    finally:
        await relay.stop()

    messages = await stream_messages(js, 250)
    assert [m.headers["Nats-Msg-Id"] for m in messages] == ids
    rows = {row.event_id: row for row in outbox_rows(engine)}
    for message in messages:
        row = rows[message.headers["Medcode-Event-Id"]]
        assert message.subject == "medcode.meter.page_viewed.v1"
        assert message.data == row.payload
        assert events_pb2.PageViewed.FromString(message.data).event_id == row.event_id
        assert message.headers["Medcode-Event-Type"] == "medcode.events.v1.PageViewed"
        assert message.headers["Medcode-Occurred-At"].endswith("Z")
        assert message.headers["traceparent"].startswith("00-")
        assert row.published_at is not None and row.attempts == 1 and row.claimed_until is None
    assert (await js.stream_info(event_names.STREAM)).state.messages == 250
    assert relay.stats.published == 250 and relay.stats.batches == 3


async def test_a_row_without_a_pubAck_stays_pending_and_goes_out_once_jetstream_acknowledges(
    engine, nats_server, js
):
    # No stream yet, and this relay does not create it: every publish finds no responder.
    write_page_view(engine, "a1")
    relay = await start_outbox_relay(engine, outbox, nats_server.url, create_stream=False, max_backoff=0.3)
    try:
        await eventually(lambda: outbox_rows(engine)[0].attempts >= 2, what="two failed attempts")
        (row,) = outbox_rows(engine)
        assert row.published_at is None and row.claimed_until is None
        assert "NoStreamResponseError" in row.last_error

        await nats_client.ensure_stream(js)
        await eventually(lambda: unpublished(engine) == 0, what="publishing once the stream exists")
    finally:
        await relay.stop()
    (row,) = outbox_rows(engine)
    assert row.last_error is None
    assert (await js.stream_info(event_names.STREAM)).state.messages == 1


async def test_notify_publishes_at_once_without_waiting_for_the_poll(engine, nats_server, js):
    await nats_client.ensure_stream(js)
    relay = await start_outbox_relay(engine, outbox, nats_server.url, poll_interval=30.0)
    try:
        await asyncio.sleep(0.3)  # let the relay connect and go idle on its 30 s poll
        write_page_view(engine, "a1")
        relay.notify()
        await eventually(lambda: unpublished(engine) == 0, within=2.0, what="publishing after notify")
    finally:
        await relay.stop()


async def test_the_publish_span_continues_the_requests_trace_and_its_context_travels_in_the_header(
    engine, nats_server, js, provider, spans
):
    event = page_viewed("a1")
    with provider.get_tracer("accounts").start_as_current_span("AuthorizeView") as request_span:
        with engine.begin() as conn:
            add_event(conn, outbox, event_names.PAGE_VIEWED, event, event.event_id)
    relay = await start_outbox_relay(engine, outbox, nats_server.url, tracer_provider=provider)
    try:
        await eventually(lambda: unpublished(engine) == 0, what="the publish")
    finally:
        await relay.stop()

    (publish,) = [span for span in spans.get_finished_spans() if span.kind == SpanKind.PRODUCER]
    request = request_span.get_span_context()
    assert publish.name == "send medcode.meter.page_viewed.v1"
    assert publish.context.trace_id == request.trace_id
    assert publish.parent.span_id == request.span_id
    assert publish.attributes["messaging.system"] == "nats"
    assert publish.attributes["messaging.destination.name"] == "medcode.meter.page_viewed.v1"
    assert publish.attributes["messaging.message.id"] == event.event_id
    (message,) = await stream_messages(js, 1)
    _, trace_id, parent_id, _ = message.headers["traceparent"].split("-")
    assert (trace_id, parent_id) == (f"{request.trace_id:032x}", f"{publish.context.span_id:016x}")
