"""The stream and the meter's consumer are declared at every start: created once, then updated in place."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from nats.js.api import AckPolicy, RetentionPolicy, StorageType

from services.accounts.meter import MeterConsumer
from services.common import event_names, nats_client
from tests.support.events import js as js
from tests.support.events import nats_server as nats_server

DAY = 24 * 3600


async def test_the_stream_has_explicit_limits_and_declaring_it_again_changes_nothing(js, caplog):
    first = await nats_client.ensure_stream(js)
    with caplog.at_level(logging.INFO, logger="services.common.nats_client"):
        second = await nats_client.ensure_stream(js)
    config = second.config
    assert config.subjects == ["medcode.>"]
    assert config.retention == RetentionPolicy.LIMITS and config.storage == StorageType.FILE
    assert (config.max_age, config.duplicate_window) == (30 * DAY, 120)
    assert (config.max_msgs, config.max_bytes) == (10_000_000, 1024**3)
    assert second.created == first.created
    assert [r.getMessage() for r in caplog.records] == []  # nothing to create, nothing to update
    assert [s.config.name for s in await js.streams_info()] == ["MEDCODE"]


async def test_a_changed_limit_updates_the_stream_and_keeps_its_messages(js, caplog):
    await nats_client.ensure_stream(js)
    await js.publish(event_names.PAGE_VIEWED, b"kept")
    limits = replace(nats_client.DEFAULT_LIMITS, max_msgs=5_000_000, max_age=7 * DAY)
    with caplog.at_level(logging.INFO, logger="services.common.nats_client"):
        info = await nats_client.ensure_stream(js, limits)
    assert (info.config.max_msgs, info.config.max_age) == (5_000_000, 7 * DAY)
    assert info.state.messages == 1
    (line,) = [r for r in caplog.records if r.getMessage() == "stream updated"]
    assert line.changes["max_msgs"] == {"from": 10_000_000, "to": 5_000_000}


async def test_the_meters_consumer_is_explicit_and_declaring_it_again_changes_nothing(js):
    await nats_client.ensure_stream(js)
    first = await nats_client.ensure_consumer(js, event_names.STREAM, MeterConsumer().config())
    second = await nats_client.ensure_consumer(js, event_names.STREAM, MeterConsumer().config())
    config = second.config
    assert config.durable_name == "meter" and config.ack_policy == AckPolicy.EXPLICIT
    assert (config.ack_wait, config.max_deliver, config.max_ack_pending) == (30, 10, 1000)
    assert config.backoff == [30, 60, 120, 300, 600]
    assert sorted(config.filter_subjects) == ["medcode.accounts.>", "medcode.meter.>"]
    assert second.created == first.created


async def test_a_changed_consumer_setting_updates_it_in_place_keeping_its_position(js):
    await nats_client.ensure_stream(js)
    await nats_client.ensure_consumer(js, event_names.STREAM, MeterConsumer().config())
    for n in range(3):
        await js.publish(event_names.PAGE_VIEWED, f"{n}".encode())
    subscription = await js.pull_subscribe_bind(durable="meter", stream=event_names.STREAM)
    for message in await subscription.fetch(2, timeout=2):
        await message.ack_sync()

    tighter = MeterConsumer(ack_wait=10, backoff=(20, 40), max_deliver=6, max_ack_pending=200)
    info = await nats_client.ensure_consumer(js, event_names.STREAM, tighter.config())
    assert (info.config.ack_wait, info.config.max_deliver, info.config.max_ack_pending) == (10, 6, 200)
    assert info.config.backoff == [10, 20, 40]
    assert (info.ack_floor.stream_seq, info.num_pending) == (2, 1)


def test_a_backoff_longer_than_the_deliveries_is_refused_before_reaching_the_server():
    with pytest.raises(ValueError, match="max_deliver 3 must exceed the 3 back-off steps"):
        MeterConsumer(backoff=(1, 2), max_deliver=3).config()
