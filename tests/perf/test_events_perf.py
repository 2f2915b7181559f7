"""Events speed, as ratios against a bare JetStream round trip measured in the same run (make bench).

- Outbox-to-meter latency: from the commit of the outbox row to the commit of the meter's
  transaction, one event at a time (relay notified after the commit, as the service does),
  against a bare publish (PubAck awaited) → pull-consumer fetch on the same server.
- Backlog drain: events per second from a backlog in the outbox to the meter's commits, against
  the same number of bare publishes and fetch-and-acks.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import nats
import pytest
from nats.js.api import ConsumerConfig, StreamConfig

from services.accounts import tables
from services.accounts.meter import start_meter
from services.accounts.transactions import write_transaction
from services.common import event_names
from services.common.db import create_db_engine
from services.common.outbox import add_event
from services.common.outbox_relay import start_outbox_relay
from tests.support.events import page_viewed, postgres_schema, postgres_unreachable, sqlite_accounts
from tests.support.nats_server import NatsServer

pytestmark = pytest.mark.perf
ROUND_TRIPS = 300
BACKLOG = 3000


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


@pytest.fixture
def nats_server(tmp_path):
    with NatsServer(tmp_path / "jetstream") as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = sqlite_accounts(tmp_path / "accounts.db")
        yield engine
        engine.dispose()
        return
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    with postgres_schema() as url:
        engine = create_db_engine(url)
        yield engine
        engine.dispose()


def commit_event(engine, principal: str) -> tuple[str, float]:
    event = page_viewed(principal)
    with write_transaction(engine) as conn:
        add_event(conn, tables.outbox, event_names.PAGE_VIEWED, event, event.event_id)
    return event.event_id, time.perf_counter()


async def outbox_to_meter(engine, nats_url: str) -> tuple[list[float], float]:
    """Per-event latencies (ms), one at a time, and the drain rate (events/s) of a backlog."""
    applied_at: dict[str, float] = {}
    arrived = asyncio.Event()

    def after_commit(usage, _applied) -> None:
        applied_at[usage.event_id] = time.perf_counter()
        arrived.set()

    relay = await start_outbox_relay(engine, tables.outbox, nats_url, write_transaction=write_transaction)
    meter = await start_meter(engine, nats_url, after_commit=after_commit)
    latencies = []
    try:
        await meter.wait_ready()
        for n in range(ROUND_TRIPS + 20):
            arrived.clear()
            event_id, committed_at = await asyncio.to_thread(commit_event, engine, f"acct-{n % 17}")
            relay.notify()
            while event_id not in applied_at:
                await asyncio.wait_for(arrived.wait(), 10)
                arrived.clear()
            if n >= 20:  # the first ones warm connections and statement caches
                latencies.append((applied_at[event_id] - committed_at) * 1000)

        await relay.stop()  # the backlog builds while no relay runs, then one drains it
        ids = [(await asyncio.to_thread(commit_event, engine, f"acct-{n % 17}"))[0] for n in range(BACKLOG)]
        started = time.perf_counter()
        relay = await start_outbox_relay(engine, tables.outbox, nats_url, write_transaction=write_transaction)
        while not all(event_id in applied_at for event_id in ids):
            await asyncio.wait_for(arrived.wait(), 30)
            arrived.clear()
        rate = BACKLOG / (time.perf_counter() - started)
    finally:
        await meter.stop()
        await relay.stop()
    return latencies, rate


async def bare_jetstream(nats_url: str) -> tuple[list[float], float]:
    """The same two figures for bare JetStream: publish with PubAck → fetch by a pull consumer → ack."""
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await js.add_stream(StreamConfig(name="BASELINE", subjects=["baseline.>"], max_bytes=256 * 1024**2))
    await js.add_consumer("BASELINE", ConsumerConfig(name="bare", durable_name="bare", ack_policy="explicit"))
    subscription = await js.pull_subscribe_bind(durable="bare", stream="BASELINE")
    payload = page_viewed("acct-1").SerializeToString()
    received_at: dict[str, float] = {}
    arrived = asyncio.Event()

    async def consume(count: int) -> None:
        while len(received_at) < count:
            try:
                messages = await subscription.fetch(64, timeout=1)
            except TimeoutError:
                continue
            for message in messages:
                await message.ack()
                received_at[message.headers["Nats-Msg-Id"]] = time.perf_counter()
                arrived.set()

    latencies = []
    consumer = asyncio.create_task(consume(ROUND_TRIPS + 20 + BACKLOG))
    try:
        for n in range(ROUND_TRIPS + 20):
            arrived.clear()
            started = time.perf_counter()
            await js.publish("baseline.page_viewed", payload, headers={"Nats-Msg-Id": f"rt-{n}"})
            while f"rt-{n}" not in received_at:
                await asyncio.wait_for(arrived.wait(), 10)
                arrived.clear()
            if n >= 20:
                latencies.append((received_at[f"rt-{n}"] - started) * 1000)
        started = time.perf_counter()
        for n in range(BACKLOG):
            await js.publish("baseline.page_viewed", payload, headers={"Nats-Msg-Id": f"bl-{n}"})
        await asyncio.wait_for(consumer, 60)
        rate = BACKLOG / (time.perf_counter() - started)
    finally:
        consumer.cancel()
        await client.close()
    return latencies, rate


async def test_outbox_to_meter_latency_and_backlog_drain_against_bare_jetstream(engine, nats_server):
    base_latencies, base_rate = await bare_jetstream(nats_server.url)
    latencies, rate = await outbox_to_meter(engine, nats_server.url)
    database = engine.dialect.name
    print(f"\noutbox → meter on {database}, {ROUND_TRIPS} events one at a time (ms):")
    for q in (50, 99):
        ours, base = pct(latencies, q), pct(base_latencies, q)
        print(
            f"  p{q}: outbox→meter {ours:7.2f}  bare JetStream round trip {base:6.2f}  ratio {ours / base:5.1f}"
        )
    print(
        f"backlog of {BACKLOG} drained: {rate:7.0f} events/s  bare {base_rate:7.0f} msgs/s  ratio {rate / base_rate:.2f}"
    )
    assert pct(latencies, 50) > 0 and rate > 0
