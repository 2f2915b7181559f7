"""One event published a thousand times counts once: JetStream's duplicate window, then the meter's ids."""

from __future__ import annotations

import nats

from services.accounts.meter import start_meter
from services.common import event_names, nats_client
from tests.support.events import engine as engine
from tests.support.events import eventually, page_viewed, usage_totals
from tests.support.events import nats_server as nats_server


async def test_a_thousand_publishes_of_one_event_id_count_once(engine, nats_server):
    event = page_viewed("acct-1")
    headers = {
        "Nats-Msg-Id": event.event_id,
        "Medcode-Event-Id": event.event_id,
        "Medcode-Event-Type": "medcode.events.v1.PageViewed",
    }
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    await nats_client.ensure_stream(js)
    acks = [
        await js.publish(event_names.PAGE_VIEWED, event.SerializeToString(), headers=dict(headers))
        for _ in range(1000)
    ]
    # Inside the window JetStream keeps one copy; republished without Nats-Msg-Id (as after the
    # window, or by a hand replay) the copies reach the meter, which must still count one.
    bypassing = {name: value for name, value in headers.items() if name != "Nats-Msg-Id"}
    for _ in range(50):
        await js.publish(event_names.PAGE_VIEWED, event.SerializeToString(), headers=dict(bypassing))
    assert sum(bool(ack.duplicate) for ack in acks) == 999
    assert (await js.stream_info(event_names.STREAM)).state.messages == 51

    meter = await start_meter(engine, nats_server.url)
    try:
        await eventually(lambda: meter.stats.applied + meter.stats.duplicates == 51, what="51 deliveries")
        info = await js.consumer_info(event_names.STREAM, event_names.METER_DURABLE)
    finally:
        await meter.stop()
        await client.close()

    assert usage_totals(engine) == {"page_views": 1, "registrations": 0, "applied": 1}
    assert (meter.stats.applied, meter.stats.duplicates) == (1, 50)
    assert info.num_pending == 0
