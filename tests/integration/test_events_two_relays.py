"""Two accounts replicas on one database: two relays and two meters; no event lost, none counted twice."""

from __future__ import annotations

import asyncio

import nats
import pytest

from services.accounts import tables
from services.accounts.meter import start_meter
from services.accounts.transactions import write_transaction
from services.common import event_names
from services.common.db import create_db_engine
from services.common.outbox_relay import start_outbox_relay
from tests.support.events import (
    eventually,
    postgres_schema,
    sqlite_accounts,
    unpublished,
    usage_totals,
    write_page_view,
)
from tests.support.events import nats_server as nats_server
from tests.support.postgres import require_postgres

EVENTS = 1000


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        sqlite_accounts(tmp_path / "accounts.db").dispose()
        yield f"sqlite:///{tmp_path / 'accounts.db'}"
        return
    require_postgres()
    with postgres_schema() as url:
        yield url


def write_events(engine, relays) -> list[str]:
    """Bursts of 100 grants, each burst announced to both replicas' relays."""
    ids = []
    for burst in range(EVENTS // 100):
        ids += [write_page_view(engine, f"acct-{burst}-{n % 9}") for n in range(100)]
        for relay in relays:
            relay.notify()
    return ids


async def stream_event_ids(nats_url: str) -> list[str]:
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        last = (await js.stream_info(event_names.STREAM)).state.last_seq
        return [
            (await js.get_msg(event_names.STREAM, seq)).headers["Nats-Msg-Id"] for seq in range(1, last + 1)
        ]
    finally:
        await client.close()


async def test_two_relays_and_two_meters_on_one_database_publish_and_count_each_event_once(
    database_url, nats_server
):
    # Each replica has its own engine (its own connections), as two processes would.
    engines = [create_db_engine(database_url) for _ in range(2)]
    relays = [
        await start_outbox_relay(
            engine,
            tables.outbox,
            nats_server.url,
            batch_size=25,
            write_transaction=write_transaction,
            name=f"relay-{n}",
        )
        for n, engine in enumerate(engines)
    ]
    meters = [
        await start_meter(engine, nats_server.url, name=f"meter-{n}") for n, engine in enumerate(engines)
    ]
    try:
        ids = await asyncio.to_thread(write_events, engines[0], relays)
        await eventually(lambda: unpublished(engines[0]) == 0, within=60, what="every event published")
        await eventually(
            lambda: usage_totals(engines[1])["applied"] == EVENTS, within=60, what="every event metered"
        )
    finally:
        for component in (*meters, *relays):
            await component.stop()

    published = await stream_event_ids(nats_server.url)
    assert sorted(published) == sorted(ids)  # each event in the stream, once
    assert sum(relay.stats.published for relay in relays) == EVENTS
    assert all(relay.stats.published > 0 for relay in relays), "both relays took part"
    assert sum(relay.stats.duplicates for relay in relays) == 0  # the claims kept them apart
    assert usage_totals(engines[0]) == {"page_views": EVENTS, "registrations": 0, "applied": EVENTS}
    for engine in engines:
        engine.dispose()
