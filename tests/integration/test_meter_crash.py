"""A meter process killed after its commit and before its ack: the redelivery does not count twice.

The meter runs in a child process (this module run as a script) whose after-commit hook sends
the process SIGKILL on the first event, so the commit is on disk and the ack never leaves.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import nats

from services.accounts import tables
from services.accounts.meter import MeterConsumer, start_meter
from services.common import event_names
from services.common.db import create_db_engine
from services.common.outbox_relay import start_outbox_relay
from tests.support.events import engine as engine
from tests.support.events import eventually, unpublished, usage_totals, write_page_view
from tests.support.events import nats_server as nats_server

ROOT = Path(__file__).resolve().parents[2]
# A one-second ack wait so that the redelivery comes inside the test.
QUICK = MeterConsumer(ack_wait=1.0, backoff=(1.0,), max_deliver=5)


async def test_a_meter_killed_between_commit_and_ack_does_not_count_the_redelivery(engine, nats_server):
    write_page_view(engine, "acct-1")
    relay = await start_outbox_relay(engine, tables.outbox, nats_server.url)
    try:
        await eventually(lambda: unpublished(engine) == 0, what="the event published")
    finally:
        await relay.stop()

    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.test_meter_crash", nats_server.url, str(engine.url), cwd=ROOT
    )
    assert await asyncio.wait_for(child.wait(), 30) == -signal.SIGKILL
    assert usage_totals(engine) == {"page_views": 1, "registrations": 0, "applied": 1}
    client = await nats.connect(nats_server.url)
    try:
        js = client.jetstream()
        info = await js.consumer_info(event_names.STREAM, event_names.METER_DURABLE)
        assert info.num_ack_pending == 1  # delivered to the dead process, never acknowledged

        meter = await start_meter(engine, nats_server.url, consumer=QUICK)
        try:
            await eventually(lambda: meter.stats.duplicates == 1, what="the redelivery")
        finally:
            await meter.stop()
        info = await js.consumer_info(event_names.STREAM, event_names.METER_DURABLE)
    finally:
        await client.close()
    assert meter.stats.applied == 0
    assert info.num_ack_pending == 0 and info.delivered.stream_seq == 1
    assert usage_totals(engine) == {"page_views": 1, "registrations": 0, "applied": 1}


async def _meter_that_dies_before_its_first_ack(nats_url: str, database_url: str) -> None:
    def die(_usage, _applied) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    engine = create_db_engine(database_url)
    await start_meter(engine, nats_url, consumer=QUICK, after_commit=die)
    await asyncio.sleep(25)  # the kill comes long before; this is only a bound


if __name__ == "__main__":
    asyncio.run(_meter_that_dies_before_its_first_ack(sys.argv[1], sys.argv[2]))
    sys.exit("the meter applied nothing within 25 s")
