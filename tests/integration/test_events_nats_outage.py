"""NATS down during a burst of grants: writing neither fails nor slows, and every event arrives once.

The same nats-server (same port, same store) is stopped before the burst and started after it; the
relay and the meter run throughout, as they do inside the accounts service.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from services.accounts import tables
from services.accounts.meter import start_meter
from services.accounts.transactions import write_transaction
from services.common import event_names
from services.common.outbox import add_event
from services.common.outbox_relay import start_outbox_relay
from tests.support.events import engine as engine
from tests.support.events import (
    eventually,
    page_viewed,
    registered,
    unpublished,
    usage_totals,
)
from tests.support.events import nats_server as nats_server
from tests.support.nats_server import NatsServer

BURST = 500


def write_burst(engine, relay, count: int, tag: str) -> list[float]:
    """Commit `count` grants (every tenth a registration) as the service does, each followed by
    notify(); the seconds each took from BEGIN to notify's return."""
    seconds = []
    for n in range(count):
        started = time.perf_counter()
        with write_transaction(engine) as conn:
            if n % 10 == 0:
                event = registered(f"{tag}-acct-{n}")
                add_event(conn, tables.outbox, event_names.ACCOUNT_REGISTERED, event, event.event_id)
            else:
                event = page_viewed(f"{tag}-acct-{n % 13}", code=f"E11.{n}")
                add_event(conn, tables.outbox, event_names.PAGE_VIEWED, event, event.event_id)
        relay.notify()
        seconds.append(time.perf_counter() - started)
    return seconds


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def test_a_burst_written_while_nats_is_down_reaches_the_meter_exactly_once(engine, nats_server):
    relay = await start_outbox_relay(
        engine, tables.outbox, nats_server.url, write_transaction=write_transaction
    )
    meter = await start_meter(engine, nats_server.url)
    try:
        await meter.wait_ready()
        # Writing with NATS up: the baseline, in a thread as the service's request handlers write.
        up = await asyncio.to_thread(write_burst, engine, relay, BURST, "up")
        await eventually(lambda: usage_totals(engine)["applied"] == BURST, what="the first burst metered")

        nats_server.stop()
        await eventually(lambda: not relay.connected, within=5, what="the relay noticing NATS is gone")
        down = await asyncio.to_thread(write_burst, engine, relay, BURST, "down")
        assert unpublished(engine) == BURST  # nothing went anywhere while NATS was away

        nats_server.start()
        await eventually(lambda: unpublished(engine) == 0, within=30, what="the backlog drained")
        await eventually(lambda: usage_totals(engine)["applied"] == 2 * BURST, within=30, what="all metered")
        await asyncio.sleep(1.5)  # a stray redelivery, if any, would land now
    finally:
        await meter.stop()
        await relay.stop()

    registrations = 2 * len(range(0, BURST, 10))
    assert usage_totals(engine) == {
        "page_views": 2 * BURST - registrations,
        "registrations": registrations,
        "applied": 2 * BURST,
    }
    print(
        f"\noutbox write with NATS up: p50 {statistics.median(up) * 1e3:.2f} ms, p99 {p99(up) * 1e3:.2f} ms;"
        f" down: p50 {statistics.median(down) * 1e3:.2f} ms, p99 {p99(down) * 1e3:.2f} ms"
    )
    # A write that waited on NATS would take its connect or ack timeout (seconds), not milliseconds.
    assert max(down) < 0.25
    assert statistics.median(down) <= 2 * statistics.median(up) + 0.002


async def test_relay_and_meter_started_while_nats_is_down_catch_up_when_it_comes_up(tmp_path, engine):
    nats_server = NatsServer(tmp_path / "late-jetstream")  # not started yet
    relay = await start_outbox_relay(engine, tables.outbox, nats_server.url)
    meter = await start_meter(engine, nats_server.url)
    try:
        written = await asyncio.to_thread(write_burst, engine, relay, 20, "early")
        assert max(written) < 0.25 and unpublished(engine) == 20
        nats_server.start()
        await asyncio.wait_for(meter.wait_ready(), 15)
        await eventually(
            lambda: usage_totals(engine)["applied"] == 20, within=30, what="the early events metered"
        )
    finally:
        started = time.perf_counter()
        await meter.stop()
        await relay.stop()
        nats_server.stop()
    assert time.perf_counter() - started < 10


async def test_relay_and_meter_stop_promptly_while_nats_is_still_down(tmp_path, engine):
    nats_server = NatsServer(tmp_path / "never-jetstream")  # never started
    relay = await start_outbox_relay(engine, tables.outbox, nats_server.url)
    meter = await start_meter(engine, nats_server.url)
    await asyncio.sleep(1.5)  # a few connection attempts
    started = time.perf_counter()
    await meter.stop()
    await relay.stop()
    assert time.perf_counter() - started < 2
