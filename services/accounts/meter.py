"""The meter: counts page views, registrations and questions per UTC day and principal, each event once.

A durable pull consumer ("meter", shared by every accounts replica) feeds it. Each event is applied
in one transaction that records its id in meter_applied_events and adds to meter_usage; the message
is acknowledged only after the commit, so a crash before the ack means a redelivery, and the
redelivery finds its id already recorded. An event that can never apply goes to the dead-letter
subject with a log line and is terminated; a failure that may pass (the database away) is retried
later with a growing delay, and dead-lettered too once its deliveries run out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from google.protobuf.message import DecodeError, Message
from medcode.events.v1 import events_pb2
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from sqlalchemy import Engine, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from services.common import event_names, metrics, nats_client
from services.common.outbox import MAX_EVENT_ID, WriteTransaction
from services.common.telemetry import server_attributes

log = logging.getLogger(__name__)

COUNTED = ("page_views", "registrations", "questions")


@dataclass(frozen=True)
class MeterConsumer:
    """The durable consumer's explicit configuration (a pull consumer without one gets defaults)."""

    # Un-acknowledged (a meter died mid-event): redelivered after ack_wait, then after each backoff.
    ack_wait: float = 30.0
    backoff: tuple[float, ...] = (60.0, 120.0, 300.0, 600.0)
    # Deliveries before an event is given up (and dead-lettered by the meter on its last one).
    max_deliver: int = 10
    max_ack_pending: int = 1000
    # The delay of a nak after a failure that may pass, doubling per delivery up to the cap.
    nak_delay: float = 2.0
    max_nak_delay: float = 300.0

    def config(self) -> ConsumerConfig:
        # JetStream takes the first backoff step as the ack wait, so the ack wait leads the list.
        steps = [self.ack_wait, *self.backoff]
        if self.max_deliver <= len(steps):
            raise ValueError(f"max_deliver {self.max_deliver} must exceed the {len(steps)} back-off steps")
        return ConsumerConfig(
            name=event_names.METER_DURABLE,
            durable_name=event_names.METER_DURABLE,
            description="medcode meter: page views, registrations, questions per day and principal",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            backoff=steps,
            max_deliver=self.max_deliver,
            max_ack_pending=self.max_ack_pending,
            max_waiting=512,
            filter_subjects=list(event_names.METER_SUBJECTS),
        )

    def delay_after(self, deliveries: int) -> float:
        return min(self.max_nak_delay, self.nak_delay * 2 ** max(deliveries - 1, 0)) * random.uniform(
            0.8, 1.0
        )


class PoisonEvent(ValueError):
    """An event that can never apply, whatever the retries: the reason goes with its dead letter."""


@dataclass(frozen=True)
class Usage:
    """What one event adds to the meter: one to `counter` of (day, principal); no counter adds nothing."""

    event_id: str
    subject: str
    day: date
    principal_kind: str
    principal_id: str
    counter: str | None


def _page_viewed(event: events_pb2.PageViewed) -> tuple[str, str, str]:
    kinds = {events_pb2.PRINCIPAL_KIND_GUEST: "guest", events_pb2.PRINCIPAL_KIND_ACCOUNT: "account"}
    if event.principal_kind not in kinds:
        raise PoisonEvent(f"principal_kind {event.principal_kind} is neither guest nor account")
    return kinds[event.principal_kind], event.principal_id, "page_views"


# What the meter does with each subject it consumes: the payload's type, and who and what it counts.
_EVENTS: dict[str, tuple[type[Message], Callable[[Message], tuple[str, str, str]] | None]] = {
    event_names.PAGE_VIEWED: (events_pb2.PageViewed, _page_viewed),
    event_names.ACCOUNT_REGISTERED: (
        events_pb2.AccountRegistered,
        lambda e: ("account", e.account_id, "registrations"),
    ),
    event_names.QUESTION_ASKED: (events_pb2.QuestionAsked, lambda e: ("account", e.account_id, "questions")),
    # Known, and nothing to count: acknowledged without touching the database.
    event_names.PLAN_CHANGED: (events_pb2.PlanChanged, None),
}


def _moment(event: Message, headers: dict[str, str]) -> datetime:
    if event.HasField("occurred_at"):
        return event.occurred_at.ToDatetime(tzinfo=UTC)
    text = headers.get(event_names.OCCURRED_AT)
    if not text:
        raise PoisonEvent("no occurred_at in the payload nor a Medcode-Occurred-At header")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PoisonEvent(f"Medcode-Occurred-At {text!r} is not RFC 3339") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def decode(subject: str, payload: bytes, headers: dict[str, str]) -> Usage:
    """The usage an event adds; PoisonEvent when it can never apply."""
    if subject not in _EVENTS:
        raise PoisonEvent(f"the meter knows no event {subject!r}")
    message_type, count = _EVENTS[subject]
    event = message_type()
    try:
        event.ParseFromString(payload)
    except DecodeError as error:
        raise PoisonEvent(f"payload is not a {message_type.DESCRIPTOR.full_name}: {error}") from None
    declared = headers.get(event_names.EVENT_TYPE)
    if declared and declared != message_type.DESCRIPTOR.full_name:
        raise PoisonEvent(f"Medcode-Event-Type {declared!r} on subject {subject!r}")
    header_id = headers.get(event_names.EVENT_ID, "")
    if event.event_id and header_id and event.event_id != header_id:
        raise PoisonEvent(f"payload event_id {event.event_id!r} but header {header_id!r}")
    event_id = event.event_id or header_id
    if not event_id or len(event_id) > MAX_EVENT_ID:
        raise PoisonEvent(f"event id {event_id!r} is missing or longer than {MAX_EVENT_ID}")
    day = _moment(event, headers).astimezone(UTC).date()
    if count is None:
        return Usage(event_id, subject, day, "", "", None)
    principal_kind, principal_id, counter = count(event)
    if not principal_id or len(principal_id) > MAX_EVENT_ID:
        raise PoisonEvent(f"principal id {principal_id!r} is missing or longer than {MAX_EVENT_ID}")
    return Usage(event_id, subject, day, principal_kind, principal_id, counter)


class _AlreadyApplied(Exception):
    pass


def _upsert(conn, usage_table: Table, usage: Usage):
    dialects = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if conn.dialect.name not in dialects:  # pragma: no cover - the platform ships SQLite and PostgreSQL
        raise NotImplementedError(f"the meter has no upsert for {conn.dialect.name}")
    values = {name: int(name == usage.counter) for name in COUNTED}
    statement = dialects[conn.dialect.name](usage_table).values(
        day=usage.day, principal_kind=usage.principal_kind, principal_id=usage.principal_id, **values
    )
    c = usage_table.c
    return statement.on_conflict_do_update(
        index_elements=[c.day, c.principal_kind, c.principal_id],
        set_={usage.counter: c[usage.counter] + statement.excluded[usage.counter]},
    )


def apply_usage(
    engine: Engine, applied_events: Table, usage_table: Table, usage: Usage, begin: WriteTransaction
) -> bool:
    """Record the event id and add its usage in one transaction; False when it was applied before."""
    try:
        with begin(engine) as conn:
            try:
                conn.execute(
                    insert(applied_events).values(
                        event_id=usage.event_id, subject=usage.subject, applied_at=datetime.now(UTC)
                    )
                )
            except IntegrityError:
                raise _AlreadyApplied from None
            conn.execute(_upsert(conn, usage_table, usage))
    except _AlreadyApplied:
        return False
    return True


@dataclass
class MeterStats:
    applied: int = 0
    duplicates: int = 0
    uncounted: int = 0
    dead_lettered: int = 0
    retried: int = 0


# Called after the commit and before the ack, with the usage and whether it was new (tests and benchmarks).
AfterCommit = Callable[[Usage, bool], None]


class Meter:
    """Consumes the meter's durable consumer in the background until stopped."""

    def __init__(
        self,
        engine: Engine,
        nats_url: str,
        *,
        consumer: MeterConsumer | None = None,
        batch_size: int = 64,
        fetch_timeout: float = 1.0,
        stream_limits: nats_client.StreamLimits = nats_client.DEFAULT_LIMITS,
        applied_events: Table | None = None,
        usage_table: Table | None = None,
        write_transaction: WriteTransaction | None = None,
        tracer_provider: TracerProvider | None = None,
        after_commit: AfterCommit | None = None,
        name: str = "meter",
    ) -> None:
        from services.accounts import tables
        from services.accounts.transactions import write_transaction as accounts_write_transaction

        self.engine = engine
        self.nats_url = nats_url
        self.consumer = consumer or MeterConsumer()
        self.batch_size = batch_size
        self.fetch_timeout = fetch_timeout
        self.stream_limits = stream_limits
        self.applied_events = tables.meter_applied_events if applied_events is None else applied_events
        self.usage_table = tables.meter_usage if usage_table is None else usage_table
        self.begin = write_transaction or accounts_write_transaction
        self.after_commit = after_commit
        self.name = name
        self.stats = MeterStats()
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self._server: dict[str, str | int] = {}
        # Messages the consumer still holds for the meter after the last fetch (None before the first).
        self.lag: int | None = None
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Start in the background: connect (waiting for NATS if need be), declare, consume."""
        self._task = asyncio.create_task(self._run(), name=self.name)
        self._task.add_done_callback(nats_client.report_crash)

    async def wait_ready(self) -> None:
        """Return once the stream and consumer are declared and fetching has begun."""
        await self._ready.wait()

    async def stop(self) -> None:
        """Finish the event in hand, hand the rest of the batch back, and close the connection."""
        self._stopping = True
        metrics.stop_watching(self)
        if self._task is not None and not self._ready.is_set():
            # Still waiting for NATS: nothing is in hand, so there is nothing to finish.
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        elif self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.fetch_timeout + 5.0)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    async def _run(self) -> None:
        self._nc = await nats_client.connect(self.nats_url, name=self.name)
        self._server = server_attributes(self._nc.connected_url)
        self._js = self._nc.jetstream()
        subscription = await self._declare()
        self._ready.set()
        metrics.watch_meter(self)
        failing = False
        while not self._stopping:
            try:
                messages = await subscription.fetch(self.batch_size, timeout=self.fetch_timeout)
            except TimeoutError:
                self.lag = 0  # nothing arrived for a whole fetch: the meter is caught up
                continue
            except Exception as error:  # NATS away or restarting: the client reconnects by itself
                if not failing:
                    log.warning("meter cannot fetch; retrying every second", extra={"error": repr(error)})
                failing = True
                await asyncio.sleep(1.0)
                continue
            if failing:
                log.info("meter fetching again")
                failing = False
            # Free with every message: how many more the consumer holds (the meter's lag, for metrics).
            self.lag = messages[-1].metadata.num_pending if messages else self.lag
            for index, message in enumerate(messages):
                if self._stopping:
                    # Another replica (or this one after restart) takes them at once.
                    await asyncio.gather(*(m.nak() for m in messages[index:]), return_exceptions=True)
                    break
                try:
                    await self._handle(message)
                except Exception as error:  # an ack lost to a dropped connection: redelivered, harmless
                    log.warning("meter lost a message's outcome", extra={"error": repr(error)})

    async def _declare(self):
        assert self._js is not None
        return await nats_client.bind_durable_consumer(
            self._js, event_names.METER_DURABLE, self.consumer.config(), self.stream_limits, "meter"
        )

    async def _handle(self, message: Msg) -> None:
        headers = dict(message.headers or {})
        # Messaging semantic conventions: "{operation name} {destination}", parented on the publish.
        with self._tracer.start_as_current_span(
            f"process {message.subject}",
            context=propagate.extract(headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
                "messaging.destination.name": message.subject,
                "messaging.consumer.group.name": event_names.METER_DURABLE,
                "messaging.message.id": headers.get(event_names.EVENT_ID, ""),
                "messaging.message.body.size": len(message.data),
                **self._server,
            },
        ) as span:
            try:
                usage = decode(message.subject, message.data, headers)
            except PoisonEvent as poison:
                span.set_attribute("error.type", "PoisonEvent")
                span.set_status(Status(StatusCode.ERROR, "dead-lettered"))
                await self._dead_letter(message, headers, str(poison))
                return
            if usage.counter is None:
                self.stats.uncounted += 1
                await message.ack()
                return
            try:
                applied = await asyncio.to_thread(
                    apply_usage, self.engine, self.applied_events, self.usage_table, usage, self.begin
                )
            except Exception as error:  # may pass (database away, locked, migrating): retry later
                span.record_exception(error)
                span.set_attribute("error.type", type(error).__qualname__)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                await self._retry_or_give_up(message, headers, usage, error)
                return
            if applied:
                self.stats.applied += 1
            else:
                self.stats.duplicates += 1
                span.set_attribute("medcode.meter.duplicate", True)
            if self.after_commit is not None:
                self.after_commit(usage, applied)
            await message.ack()

    async def _retry_or_give_up(self, message: Msg, headers: dict, usage: Usage, error: Exception) -> None:
        deliveries = message.metadata.num_delivered
        if deliveries >= self.consumer.max_deliver:
            await self._dead_letter(message, headers, f"gave up after {deliveries} deliveries: {error!r}")
            return
        delay = self.consumer.delay_after(deliveries)
        self.stats.retried += 1
        log.warning(
            "meter could not apply an event; it comes back later",
            extra={
                "event_id": usage.event_id,
                "subject": usage.subject,
                "deliveries": deliveries,
                "retry_in_seconds": round(delay, 2),
                "error": repr(error),
            },
        )
        await message.nak(delay=delay)

    async def _dead_letter(self, message: Msg, headers: dict, reason: str) -> None:
        """Publish the event as it came, with why and whence, to the dead-letter subject; then term it."""
        assert self._js is not None
        sequence = message.metadata.sequence.stream
        deliveries = message.metadata.num_delivered
        letter = {name: value for name, value in headers.items() if name != event_names.MSG_ID}
        letter |= {
            # Headers are single lines; a reason quoting a payload may not be.
            event_names.DEAD_LETTER_REASON: " ".join(reason.split())[:1000],
            event_names.DEAD_LETTER_SUBJECT: message.subject,
            event_names.DEAD_LETTER_SEQUENCE: str(sequence),
            event_names.DEAD_LETTER_DELIVERIES: str(deliveries),
            # One dead letter per stream message, even if this one is redelivered before its term.
            event_names.MSG_ID: f"meter-dead-letter-{sequence}",
        }
        try:
            await self._js.publish(event_names.METER_DEAD_LETTERS, message.data, headers=letter)
        except Exception as error:  # NATS trouble: keep the event, try again later
            log.warning("dead letter not published; event retried", extra={"error": repr(error)})
            await message.nak(delay=self.consumer.delay_after(deliveries))
            return
        self.stats.dead_lettered += 1
        log.error(
            "event dead-lettered",
            extra={
                "subject": message.subject,
                "event_id": headers.get(event_names.EVENT_ID, ""),
                "stream_sequence": sequence,
                "deliveries": deliveries,
                "reason": letter[event_names.DEAD_LETTER_REASON],
                "dead_letter_subject": event_names.METER_DEAD_LETTERS,
            },
        )
        await message.term()


async def start_meter(engine: Engine, nats_url: str, **options) -> Meter:
    """Build and start the meter (options as `Meter`); its owner calls `stop()` at shutdown."""
    meter = Meter(engine, nats_url, **options)
    await meter.start()
    return meter
