"""The consultation worker: a durable pull consumer that answers each requested consultation once.

Each ConsultationRequested names a stored consultation. The worker claims it (a conditional UPDATE
with a lease), composes the answer with the assistant's engine, stores it under that claim, tells
the mailer, and only then acknowledges. A redelivery finds the consultation answered and is
acknowledged without work; a second worker finds a live claim and comes back later; a worker that
died mid-answer leaves a claim that runs out, and the redelivery answers it. An event that can
never apply goes to the dead-letter subject; a failure that may pass (the lookup service or the
database away) is retried with a growing delay, and the consultation is marked failed when the
deliveries run out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from google.protobuf.message import DecodeError
from medcode.events.v1 import events_pb2
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.assistant import consultation_store as store
from services.assistant.consultation_store import CONSULTATION_REQUESTED, Citation
from services.assistant.mail import new_message_id
from services.common import event_names, nats_client

log = logging.getLogger(__name__)

WORKER_DURABLE = event_names.CONSULTATION_WORKER_DURABLE
# Events the worker can never apply; outside its filter so that they never come back to it.
WORKER_DEAD_LETTERS = event_names.CONSULTATION_WORKER_DEAD_LETTERS


@dataclass(frozen=True)
class ComposedAnswer:
    """What the engine answered: Markdown, the codes it cites (each checked to exist), the intent."""

    markdown: str
    citations: list[Citation] = field(default_factory=list)
    intent: str = ""


# (question, context_code, context_system) -> the answer; the bootstrap wires the engine in.
Answerer = Callable[[str, str, int], Awaitable[ComposedAnswer]]


class AnswerImpossible(Exception):
    """The engine refuses this question for good (it is not a question it can read): no retry helps."""


@dataclass(frozen=True)
class WorkerConsumer:
    """The durable consumer's explicit configuration (a pull consumer without one gets defaults)."""

    ack_wait: float = 60.0
    backoff: tuple[float, ...] = (120.0, 300.0, 600.0)
    max_deliver: int = 6
    max_ack_pending: int = 64
    # The delay of a nak after a failure that may pass, doubling per delivery up to the cap.
    nak_delay: float = 5.0
    max_nak_delay: float = 300.0

    def config(self) -> ConsumerConfig:
        steps = [self.ack_wait, *self.backoff]  # JetStream takes the first step as the ack wait
        if self.max_deliver <= len(steps):
            raise ValueError(f"max_deliver {self.max_deliver} must exceed the {len(steps)} back-off steps")
        return ConsumerConfig(
            name=WORKER_DURABLE,
            durable_name=WORKER_DURABLE,
            description="medcode assistant: answers requested consultations and mails them",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            backoff=steps,
            max_deliver=self.max_deliver,
            max_ack_pending=self.max_ack_pending,
            max_waiting=512,
            filter_subjects=[CONSULTATION_REQUESTED],
        )

    @property
    def answer_lease(self) -> timedelta:
        """How long a claim to answer holds: past the ack wait, so a redelivery sees it taken."""
        return timedelta(seconds=self.ack_wait * 2)

    def delay_after(self, deliveries: int) -> float:
        return min(self.max_nak_delay, self.nak_delay * 2 ** max(deliveries - 1, 0)) * random.uniform(
            0.8, 1.0
        )


@dataclass
class WorkerStats:
    answered: int = 0
    already_done: int = 0
    busy: int = 0
    retried: int = 0
    failed: int = 0
    dead_lettered: int = 0


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConsultationWorker:
    def __init__(
        self,
        engine,
        nats_url: str,
        answerer: Answerer,
        *,
        sender: str,
        on_answered: Callable[[], None] = lambda: None,
        consumer: WorkerConsumer | None = None,
        batch_size: int = 8,
        fetch_timeout: float = 1.0,
        stream_limits: nats_client.StreamLimits = nats_client.DEFAULT_LIMITS,
        clock: Callable[[], datetime] = utc_now,
        name: str = "consultation-worker",
    ) -> None:
        self.engine = engine
        self.nats_url = nats_url
        self.answerer = answerer
        self.sender = sender
        self.on_answered = on_answered
        self.consumer = consumer or WorkerConsumer()
        self.batch_size = batch_size
        self.fetch_timeout = fetch_timeout
        self.stream_limits = stream_limits
        self.clock = clock
        self.name = name
        self.stats = WorkerStats()
        self._tracer = trace.get_tracer(__name__)
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
        await self._ready.wait()

    async def stop(self) -> None:
        """Finish the consultation in hand, hand the rest of the batch back, close the connection."""
        self._stopping = True
        if self._task is not None and not self._ready.is_set():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        elif self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.fetch_timeout + 30.0)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    async def _run(self) -> None:
        self._nc = await nats_client.connect(self.nats_url, name=self.name)
        self._js = self._nc.jetstream()
        subscription = await self._declare()
        self._ready.set()
        failing = False
        while not self._stopping:
            try:
                messages = await subscription.fetch(self.batch_size, timeout=self.fetch_timeout)
            except TimeoutError:
                continue
            except Exception as error:  # NATS away or restarting: the client reconnects by itself
                if not failing:
                    log.warning("consultation worker cannot fetch; retrying", extra={"error": repr(error)})
                failing = True
                await asyncio.sleep(1.0)
                continue
            failing = False
            for index, message in enumerate(messages):
                if self._stopping:
                    await asyncio.gather(*(m.nak() for m in messages[index:]), return_exceptions=True)
                    break
                try:
                    await self._handle(message)
                except Exception as error:  # an ack lost to a dropped connection: redelivered, harmless
                    log.warning("consultation worker lost a message's outcome", extra={"error": repr(error)})

    async def _declare(self):
        assert self._js is not None
        return await nats_client.bind_durable_consumer(
            self._js, WORKER_DURABLE, self.consumer.config(), self.stream_limits, "consultation worker"
        )

    async def _handle(self, message: Msg) -> None:
        headers = dict(message.headers or {})
        with self._tracer.start_as_current_span(
            f"process {message.subject}",
            context=propagate.extract(headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": message.subject,
                "messaging.consumer.group.name": WORKER_DURABLE,
                "messaging.message.id": headers.get(event_names.EVENT_ID, ""),
            },
        ) as span:
            event = events_pb2.ConsultationRequested()
            try:
                event.ParseFromString(message.data)
            except DecodeError as error:
                await self._dead_letter(message, headers, f"payload is not a ConsultationRequested: {error}")
                return
            if not event.consultation_id:
                await self._dead_letter(message, headers, "the event names no consultation")
                return
            span.set_attribute("medcode.consultation_id", event.consultation_id)
            deliveries = message.metadata.num_delivered
            try:
                claim = await asyncio.to_thread(
                    store.claim_for_answering,
                    self.engine,
                    event.consultation_id,
                    self.clock(),
                    self.consumer.answer_lease,
                )
            except Exception as error:  # the database is away: later
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                await self._retry(message, event.consultation_id, repr(error))
                return
            if claim.outcome == "missing":
                await self._dead_letter(
                    message, headers, f"no consultation {event.consultation_id} is stored"
                )
            elif claim.outcome == "done":
                self.stats.already_done += 1
                await message.ack()
            elif claim.outcome == "busy":
                # Another worker is answering it; this delivery looks again once that claim could run out.
                self.stats.busy += 1
                await message.nak(delay=self.consumer.ack_wait)
            else:
                await self._answer(message, claim, deliveries, span)

    async def _answer(self, message: Msg, claim: store.AnswerClaim, deliveries: int, span) -> None:
        record = claim.record
        assert record is not None
        await message.in_progress()
        try:
            composed = await self.answerer(record.question, record.context_code, record.context_system)
        except Exception as error:  # the lookup service away, mostly: the next delivery tries again
            span.record_exception(error)
            give_up = isinstance(error, AnswerImpossible) or deliveries >= self.consumer.max_deliver
            await asyncio.to_thread(
                store.release_answering,
                self.engine,
                record.id,
                claim.claim_id,
                f"{type(error).__name__}: {error}",
                give_up=give_up,
                now=self.clock(),
            )
            if give_up:
                self.stats.failed += 1
                log.error(
                    "consultation could not be answered; marked failed",
                    extra={"consultation_id": record.id, "deliveries": deliveries, "error": repr(error)},
                )
                await message.ack()
            else:
                await self._retry(message, record.id, repr(error))
            return
        stored = await asyncio.to_thread(
            store.store_answer,
            self.engine,
            record.id,
            claim.claim_id,
            answer=composed.markdown,
            citations=list(composed.citations),
            intent=composed.intent,
            message_id=new_message_id(record.id, self.sender),
            now=self.clock(),
        )
        if stored:
            self.stats.answered += 1
            log.info("consultation answered", extra={"consultation_id": record.id, "intent": composed.intent})
            self.on_answered()
        else:  # our claim ran out and another worker took it: theirs is the answer
            self.stats.already_done += 1
        await message.ack()

    async def _retry(self, message: Msg, consultation_id: str, error: str) -> None:
        deliveries = message.metadata.num_delivered
        delay = self.consumer.delay_after(deliveries)
        self.stats.retried += 1
        log.warning(
            "consultation not answered now; it comes back later",
            extra={
                "consultation_id": consultation_id,
                "deliveries": deliveries,
                "retry_in_seconds": round(delay, 2),
                "error": error,
            },
        )
        await message.nak(delay=delay)

    async def _dead_letter(self, message: Msg, headers: dict, reason: str) -> None:
        """Publish the event as it came, with why, to the dead-letter subject; then term it."""
        assert self._js is not None
        sequence = message.metadata.sequence.stream
        letter = {name: value for name, value in headers.items() if name != event_names.MSG_ID}
        letter |= {
            event_names.DEAD_LETTER_REASON: " ".join(reason.split())[:1000],
            event_names.DEAD_LETTER_SUBJECT: message.subject,
            event_names.DEAD_LETTER_SEQUENCE: str(sequence),
            event_names.DEAD_LETTER_DELIVERIES: str(message.metadata.num_delivered),
            event_names.MSG_ID: f"consultation-worker-dead-letter-{sequence}",
        }
        try:
            await self._js.publish(WORKER_DEAD_LETTERS, message.data, headers=letter)
        except Exception as error:  # NATS trouble: keep the event, try again later
            log.warning("dead letter not published; event retried", extra={"error": repr(error)})
            await message.nak(delay=self.consumer.delay_after(message.metadata.num_delivered))
            return
        self.stats.dead_lettered += 1
        log.error(
            "event dead-lettered",
            extra={"subject": message.subject, "stream_sequence": sequence, "reason": reason},
        )
        await message.term()
