"""The outbox relay: publishes an outbox table's pending rows to JetStream, in id order, and marks a
row published only after JetStream's acknowledgement (the row side lives in outbox.py)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from sqlalchemy import Engine, Table

from services.common import metrics, nats_client
from services.common.outbox import (
    PendingEvent,
    WriteTransaction,
    _begin,
    backlog,
    claim_batch,
    finish_batch,
    has_claimable,
    purge_published,
)
from services.common.telemetry import server_attributes

log = logging.getLogger("services.common.outbox")


@dataclass
class RelayStats:
    published: int = 0
    duplicates: int = 0
    failed: int = 0
    batches: int = 0


class OutboxRelay:
    """Publishes an outbox table's pending events to JetStream, in the background, until stopped."""

    def __init__(
        self,
        engine: Engine,
        outbox_table: Table,
        nats_url: str,
        *,
        name: str = "outbox-relay",
        batch_size: int = 200,
        poll_interval: float = 0.2,
        lease: timedelta = timedelta(seconds=30),
        ack_timeout: float = 5.0,
        max_backoff: float = 10.0,
        keep_published: timedelta = timedelta(days=7),
        create_stream: bool = True,
        stream_limits: nats_client.StreamLimits = nats_client.DEFAULT_LIMITS,
        write_transaction: WriteTransaction = _begin,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.engine = engine
        self.begin = write_transaction
        self.table = outbox_table
        self.nats_url = nats_url
        self.name = name
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.lease = lease
        self.ack_timeout = ack_timeout
        self.max_backoff = max_backoff
        self.keep_published = keep_published
        self.create_stream = create_stream
        self.stream_limits = stream_limits
        self.stats = RelayStats()
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._failures = 0
        self._resume_at = 0.0
        self._tasks: list[asyncio.Task] = []
        self._next_purge = 0.0
        self._next_backlog_log = 0.0

    async def start(self) -> None:
        """Start connecting and publishing in the background; returns at once, NATS up or not."""
        self._loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._connect(), name=f"{self.name}-connect"),
            asyncio.create_task(self._run(), name=self.name),
        ]
        for task in self._tasks:
            task.add_done_callback(nats_client.report_crash)
        metrics.watch_outbox(self)

    def count_backlog(self) -> int:
        """Events in the outbox not yet acknowledged by JetStream (one count query; metrics scrapes call it)."""
        return backlog(self.engine, self.table)

    def notify(self) -> None:
        """Publish soon: call after committing an event. Cheap, never blocks, safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_notify)

    def _on_notify(self) -> None:
        # While backing off from a failure, a request's notify must not cut the back-off short.
        if self._loop is not None and self._loop.time() >= self._resume_at:
            self._wake.set()

    def _on_reconnected(self) -> None:
        self._stream_ready = False
        self._resume_at = 0.0
        self._wake.set()

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def stop(self) -> None:
        """Finish the batch in flight, then stop publishing and close the connection."""
        self._stopping = True
        metrics.stop_watching(self)
        self._wake.set()
        connector, runner = self._tasks or (None, None)
        if connector is not None:
            connector.cancel()
        if runner is not None:
            await asyncio.gather(runner, connector, return_exceptions=True)
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    async def _connect(self) -> None:
        self._nc = await nats_client.connect(
            self.nats_url, name=self.name, on_reconnected=self._on_reconnected
        )
        self._js = self._nc.jetstream(timeout=self.ack_timeout)
        self._on_reconnected()

    async def _run(self) -> None:
        while not self._stopping:
            notified = await self._wait_for_work()
            if self._stopping:
                break
            try:
                if self.connected:
                    await self._publish_pending(notified)
                    self._failures = 0
                else:
                    await self._log_backlog("NATS unreachable; events wait in the outbox")
                await self._purge_when_due()
            except Exception as error:  # the relay outlives any failure: log, back off, retry
                self._failures += 1
                delay = min(self.max_backoff, 0.2 * 2 ** (self._failures - 1)) * random.uniform(0.5, 1.0)
                self._resume_at = asyncio.get_running_loop().time() + delay
                log.warning(
                    "outbox publish failed; backing off",
                    extra={"relay": self.name, "error": repr(error), "retry_in_seconds": round(delay, 2)},
                )
                await self._log_backlog("outbox backlog", force=True)

    async def _wait_for_work(self) -> bool:
        """Sleep until notified (True) or until the poll interval or back-off is over (False)."""
        loop = asyncio.get_running_loop()
        timeout = max(self._resume_at - loop.time(), self.poll_interval)
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._wake.clear()
        return True

    async def _publish_pending(self, notified: bool) -> None:
        assert self._js is not None
        if self.create_stream and not self._stream_ready:
            await nats_client.ensure_stream(self._js, self.stream_limits)
            self._stream_ready = True
        # A poll first looks without a write lock; a notify means there is work, so it goes straight on.
        if not notified and not await asyncio.to_thread(has_claimable, self.engine, self.table):
            return
        while not self._stopping:
            batch = await asyncio.to_thread(
                claim_batch, self.engine, self.table, self.batch_size, self.lease, self.begin
            )
            if not batch:
                return
            started = time.perf_counter()
            published, failed, error = await self._publish(batch)
            await asyncio.to_thread(
                finish_batch, self.engine, self.table, published, failed, error, self.begin
            )
            self.stats.batches += 1
            self.stats.published += len(published)
            self.stats.failed += len(failed)
            if published:
                log.info(
                    "outbox batch published",
                    extra={
                        "relay": self.name,
                        "events": len(published),
                        "first_id": published[0],
                        "last_id": published[-1],
                        "seconds": round(time.perf_counter() - started, 4),
                    },
                )
            if error is not None:
                raise PublishFailed(f"{len(failed)} of {len(batch)} events not acknowledged: {error}")
            if len(batch) < self.batch_size:
                return

    async def _publish(self, batch: list[PendingEvent]) -> tuple[list[int], list[int], str | None]:
        """Send the batch in id order, pipelined; a row counts as published only once its PubAck is in."""
        assert self._js is not None
        sent, error = [], None
        server = server_attributes(self._nc.connected_url if self._nc is not None else None)
        for event in batch:
            parent = propagate.extract({"traceparent": event.traceparent}) if event.traceparent else Context()
            # Messaging semantic conventions: the span is named "{operation name} {destination}".
            span = self._tracer.start_span(
                f"send {event.subject}",
                context=parent,
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "nats",
                    "messaging.operation.type": "send",
                    "messaging.operation.name": "send",
                    "messaging.destination.name": event.subject,
                    "messaging.message.id": event.event_id,
                    "messaging.message.body.size": len(event.payload),
                    **server,
                },
            )
            headers = event.headers()
            propagate.inject(headers, context=trace.set_span_in_context(span))
            try:
                future = await self._js.publish_async(
                    event.subject, event.payload, headers=headers, wait_stall=self.ack_timeout
                )
            except Exception as failure:  # the connection went: the rest of the batch waits for the next try
                error = f"{type(failure).__name__}: {failure}"
                _end_span(span, failure)
                break
            sent.append((event, span, future))
        published = []
        deadline = asyncio.get_running_loop().time() + self.ack_timeout
        for event, span, future in sent:
            try:
                remaining = max(deadline - asyncio.get_running_loop().time(), 0.001)
                ack: PubAck = await asyncio.wait_for(future, remaining)
            except Exception as failure:
                error = error or f"{type(failure).__name__}: {failure}"
                _end_span(span, failure)
                continue
            if ack.duplicate:
                self.stats.duplicates += 1
                span.set_attribute("medcode.outbox.duplicate", True)
            _end_span(span, None)
            published.append(event.id)
        acknowledged = set(published)
        return published, [event.id for event in batch if event.id not in acknowledged], error

    async def _log_backlog(self, message: str, force: bool = False) -> None:
        loop = asyncio.get_running_loop()
        if not force and loop.time() < self._next_backlog_log:
            return
        self._next_backlog_log = loop.time() + 10.0
        try:
            waiting = await asyncio.to_thread(backlog, self.engine, self.table)
        except Exception as error:  # the database is away too; the failure itself is logged already
            log.debug("outbox backlog unknown", extra={"relay": self.name, "error": repr(error)})
            return
        if waiting or force:
            log.warning(message, extra={"relay": self.name, "backlog": waiting})

    async def _purge_when_due(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() < self._next_purge:
            return
        self._next_purge = loop.time() + 3600.0
        purged = await asyncio.to_thread(
            purge_published, self.engine, self.table, self.keep_published, self.begin
        )
        if purged:
            log.info("published outbox rows purged", extra={"relay": self.name, "rows": purged})


class PublishFailed(RuntimeError):
    """Some events of a batch were not acknowledged by JetStream; they stay pending."""


def _end_span(span: trace.Span, error: BaseException | None) -> None:
    if error is not None:
        span.record_exception(error)
        span.set_attribute("error.type", type(error).__qualname__)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()


async def start_outbox_relay(engine: Engine, outbox_table: Table, nats_url: str, **options) -> OutboxRelay:
    """Build and start a relay (options as `OutboxRelay`); its owner calls `stop()` at shutdown."""
    relay = OutboxRelay(engine, outbox_table, nats_url, **options)
    await relay.start()
    return relay
