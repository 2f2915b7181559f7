"""Events the meter can never apply go to the dead-letter subject once; passing failures are retried."""

from __future__ import annotations

import asyncio
import logging

import nats
import pytest
import pytest_asyncio
from sqlalchemy import text

from services.accounts.meter import MeterConsumer, start_meter
from services.common import event_names, nats_client
from tests.support.events import engine as engine
from tests.support.events import eventually, page_viewed, usage_totals
from tests.support.events import nats_server as nats_server

# Short waits so that a redelivery, if there were one, would happen inside the test.
QUICK = MeterConsumer(ack_wait=1.0, backoff=(1.0,), max_deliver=5, nak_delay=0.2, max_nak_delay=0.5)


@pytest_asyncio.fixture
async def js(nats_server):
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    await nats_client.ensure_stream(js)
    yield js
    await client.close()


async def publish(js, subject: str, payload: bytes, event_id: str) -> None:
    headers = {
        "Nats-Msg-Id": event_id,
        "Medcode-Event-Id": event_id,
        "traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01",
    }
    await js.publish(subject, payload, headers=headers)


async def dead_letters(js) -> list:
    info = await js.stream_info(event_names.STREAM, subjects_filter=event_names.METER_DEAD_LETTERS)
    letters = []
    for seq in range(1, info.state.last_seq + 1):
        message = await js.get_msg(event_names.STREAM, seq)
        if message.subject == event_names.METER_DEAD_LETTERS:
            letters.append(message)
    return letters


def without_principal() -> bytes:
    event = page_viewed("")
    event.event_id = "poison-1"
    return event.SerializeToString()


@pytest.mark.parametrize(
    ("subject", "payload", "reason"),
    [
        (
            event_names.PAGE_VIEWED,
            b"\xff\xff\xff not protobuf",
            "payload is not a medcode.events.v1.PageViewed",
        ),
        ("medcode.meter.coffee_poured.v1", b"", "the meter knows no event 'medcode.meter.coffee_poured.v1'"),
        (event_names.PAGE_VIEWED, without_principal(), "principal id '' is missing"),
    ],
)
async def test_a_poison_event_is_dead_lettered_once_with_a_log_line_and_never_retried(
    engine, nats_server, js, caplog, subject, payload, reason
):
    await publish(js, subject, payload, "poison-1")
    good = page_viewed("acct-1")
    await publish(js, event_names.PAGE_VIEWED, good.SerializeToString(), good.event_id)

    with caplog.at_level(logging.ERROR, logger="services.accounts.meter"):
        meter = await start_meter(engine, nats_server.url, consumer=QUICK)
        try:
            await eventually(lambda: meter.stats.dead_lettered == 1 and meter.stats.applied == 1, what="both")
            await asyncio.sleep(2.5)  # beyond ack wait and backoff: a retried poison would be back by now
            info = await js.consumer_info(event_names.STREAM, event_names.METER_DURABLE)
        finally:
            await meter.stop()

    assert meter.stats.dead_lettered == 1
    assert (info.num_ack_pending, info.num_redelivered, info.num_pending) == (0, 0, 0)
    assert usage_totals(engine)["page_views"] == 1
    (letter,) = await dead_letters(js)
    assert (letter.data or b"") == payload  # get_msg gives None for an empty payload
    assert letter.headers["Medcode-Event-Id"] == "poison-1"
    assert letter.headers["Medcode-Dead-Letter-Subject"] == subject
    assert letter.headers["Medcode-Dead-Letter-Reason"].startswith(reason)
    assert letter.headers["traceparent"].startswith("00-" + "ab" * 16)
    (line,) = [record for record in caplog.records if record.getMessage() == "event dead-lettered"]
    assert line.event_id == "poison-1" and line.reason.startswith(reason)


async def test_an_event_that_fails_while_the_table_is_away_is_retried_and_counted_once_it_is_back(
    engine, nats_server, js
):
    with engine.begin() as conn:
        conn.execute(text("alter table meter_usage rename to meter_usage_away"))
    event = page_viewed("acct-1")
    await publish(js, event_names.PAGE_VIEWED, event.SerializeToString(), event.event_id)
    meter = await start_meter(engine, nats_server.url, consumer=QUICK)
    try:
        await eventually(lambda: meter.stats.retried >= 2, what="two retries")
        with engine.begin() as conn:
            conn.execute(text("alter table meter_usage_away rename to meter_usage"))
        await eventually(lambda: meter.stats.applied == 1, what="the event applied")
    finally:
        await meter.stop()
    assert meter.stats.dead_lettered == 0
    assert usage_totals(engine) == {"page_views": 1, "registrations": 0, "applied": 1}


async def test_an_event_still_failing_on_its_last_delivery_is_dead_lettered_not_dropped(
    engine, nats_server, js
):
    with engine.begin() as conn:
        conn.execute(text("drop table meter_usage"))
    event = page_viewed("acct-1")
    await publish(js, event_names.PAGE_VIEWED, event.SerializeToString(), event.event_id)
    meter = await start_meter(engine, nats_server.url, consumer=QUICK)
    try:
        await eventually(lambda: meter.stats.dead_lettered == 1, what="the event given up")
    finally:
        await meter.stop()
    assert meter.stats.retried == QUICK.max_deliver - 1
    (letter,) = await dead_letters(js)
    assert letter.headers["Medcode-Dead-Letter-Reason"].startswith(
        "gave up after 5 deliveries: OperationalError"
    )
    assert letter.headers["Medcode-Dead-Letter-Deliveries"] == "5"
