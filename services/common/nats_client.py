"""The NATS connection and the platform's JetStream stream: connect, create or update, idempotently.

Every process connects through `connect` (reconnecting forever, quietly) and declares what it needs
with `ensure_stream` / `ensure_consumer` at start: both create what is missing and bring what
exists to the declared configuration, so any number of replicas may run them at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    ConsumerConfig,
    ConsumerInfo,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)
from nats.js.errors import BadRequestError, NotFoundError

from services.common import event_names

log = logging.getLogger(__name__)

DAY = 24 * 60 * 60.0


@dataclass(frozen=True)
class StreamLimits:
    """The stream's explicit limits; the defaults suit one machine, a cluster raises `replicas`."""

    max_age: float = 30 * DAY
    duplicate_window: float = 120.0
    max_msgs: int = 10_000_000
    max_bytes: int = 1024**3
    max_msg_size: int = 1024 * 1024
    replicas: int = 1


DEFAULT_LIMITS = StreamLimits()


class _QuietErrors:
    """NATS's error callback, logging one warning per outage instead of one per reconnect attempt."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.reported = False
        self.client: Client | None = None

    async def error(self, error: Exception) -> None:
        if not self.reported:
            self.reported = True
            log.warning(
                "NATS unreachable; retrying in the background",
                extra={"nats_url": self.url, "client": self.name, "error": repr(error)},
            )

    async def disconnected(self) -> None:
        closing = self.client is not None and self.client.is_closed  # our own close, not an outage
        if not self.reported and not closing:
            self.reported = True
            log.warning(
                "NATS connection lost; reconnecting", extra={"nats_url": self.url, "client": self.name}
            )

    def connected(self) -> None:
        if self.reported:
            log.info("NATS connection back", extra={"nats_url": self.url, "client": self.name})
        self.reported = False


async def connect(
    url: str, *, name: str, on_reconnected: Callable[[], Awaitable[None] | None] | None = None
) -> Client:
    """Connect to `url`, waiting as long as NATS is away; once connected, reconnect forever.

    Run it in a background task: the call returns only when a server has answered.
    """
    errors = _QuietErrors(url, name)

    async def reconnected() -> None:
        errors.connected()
        if on_reconnected is not None:
            result = on_reconnected()
            if result is not None:
                await result

    client = await nats.connect(
        url,
        name=name,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        # A server that vanished without closing the socket is noticed within a minute.
        ping_interval=20,
        max_outstanding_pings=3,
        error_cb=errors.error,
        disconnected_cb=errors.disconnected,
        reconnected_cb=reconnected,
    )
    errors.client = client
    errors.connected()
    return client


def report_crash(task: asyncio.Task) -> None:
    """A done-callback for background tasks: a crash is logged when it happens, not found at stop."""
    if not task.cancelled() and task.exception() is not None:
        log.error("background task crashed", exc_info=task.exception(), extra={"task": task.get_name()})


def stream_config(limits: StreamLimits = DEFAULT_LIMITS) -> StreamConfig:
    """The declared configuration of the platform's one stream."""
    return StreamConfig(
        name=event_names.STREAM,
        description="medcode platform events (medcode.<area>.<event>.v1, protobuf payloads)",
        subjects=list(event_names.STREAM_SUBJECTS),
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        storage=StorageType.FILE,
        max_age=limits.max_age,
        duplicate_window=limits.duplicate_window,
        max_msgs=limits.max_msgs,
        max_bytes=limits.max_bytes,
        max_msg_size=limits.max_msg_size,
        num_replicas=limits.replicas,
    )


_COMPARED = (
    "subjects",
    "max_age",
    "duplicate_window",
    "max_msgs",
    "max_bytes",
    "max_msg_size",
    "num_replicas",
)


def _differences(wanted: object, actual: object, fields: tuple[str, ...]) -> dict[str, dict]:
    """The fields in which `actual` differs from `wanted`, as {field: {"from": ..., "to": ...}}."""
    changes = {}
    for name in fields:
        want, have = getattr(wanted, name), getattr(actual, name)
        if isinstance(want, list | tuple) and have is not None:
            want, have = sorted(want), sorted(have)
        if want != have:
            changes[name] = {"from": have, "to": want}
    return changes


async def ensure_stream(js: JetStreamContext, limits: StreamLimits = DEFAULT_LIMITS) -> StreamInfo:
    """Create the MEDCODE stream, or bring an existing one to `limits`; safe to run from every replica."""
    config = stream_config(limits)
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        try:
            info = await js.add_stream(config)
            log.info("stream created", extra={"stream": config.name, "subjects": config.subjects})
            return info
        except BadRequestError:
            # Another replica created it between our look and our create: fall through to update.
            info = await js.stream_info(config.name)
    changes = _differences(config, info.config, _COMPARED)
    if not changes:
        return info
    info = await js.update_stream(config)
    log.info("stream updated", extra={"stream": config.name, "changes": changes})
    return info


_CONSUMER_COMPARED = (
    "ack_policy",
    "ack_wait",
    "max_deliver",
    "backoff",
    "filter_subjects",
    "max_ack_pending",
    "max_waiting",
)


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> ConsumerInfo:
    """Create the durable consumer `config` names, or update it to `config` (create-or-update)."""
    if not config.durable_name or config.name != config.durable_name:
        raise ValueError("ensure_consumer is for durable consumers: set name and durable_name alike")
    try:
        before = await js.consumer_info(stream, config.durable_name)
    except NotFoundError:
        before = None
    # The server's create is create-or-update (2.10+): one call both creates and reconfigures.
    info = await js.add_consumer(stream, config)
    if before is None:
        log.info("consumer created", extra={"stream": stream, "consumer": config.durable_name})
    else:
        changes = _differences(info.config, before.config, _CONSUMER_COMPARED)
        if changes:
            log.info(
                "consumer updated",
                extra={"stream": stream, "consumer": config.durable_name, "changes": changes},
            )
    return info


async def bind_durable_consumer(
    js: JetStreamContext, durable: str, config: ConsumerConfig, limits: StreamLimits, who: str
) -> JetStreamContext.PullSubscription:
    """Declare the stream and a durable pull consumer, then bind to it; retried with back-off while
    JetStream is not ready (a consumer starts before NATS, or NATS goes away again)."""
    failures = 0
    while True:
        try:
            await ensure_stream(js, limits)
            await ensure_consumer(js, event_names.STREAM, config)
            return await js.pull_subscribe_bind(durable=durable, stream=event_names.STREAM)
        except Exception as error:  # retried: the caller's task owns the loop and stops it
            failures += 1
            delay = min(10.0, 0.5 * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
            log.warning(
                f"{who} cannot declare its stream and consumer yet",
                extra={"error": repr(error), "retry_in_seconds": round(delay, 2)},
            )
            await asyncio.sleep(delay)
