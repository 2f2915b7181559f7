"""The mailer: sends the mail of answered consultations, from the database's state, until it is sent.

It wakes when told (the worker calls `notify()` after storing an answer) or every poll interval,
claims the consultations whose mail is due, and sends each through the transport on a thread. A
send that fails for a reason that may pass pushes that consultation's `next_mail_at` later, with a
growing back-off; nothing is kept in memory, so a restart, a crash or a second replica carries on
where this one stopped. An SMTP server that is down therefore delays mail and never loses it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.assistant import consultation_store as store
from services.assistant.mail import MailDelayed, MailRefused, MailTransport, compose
from services.common import nats_client

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConsultationMailer:
    def __init__(
        self,
        engine,
        transport: MailTransport,
        sender: str,
        *,
        poll_interval: float = 1.0,
        first_retry: float = 5.0,
        max_retry: float = 600.0,
        lease: timedelta = timedelta(minutes=2),
        batch_size: int = 20,
        clock: Callable[[], datetime] = utc_now,
        name: str = "consultation-mailer",
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.sender = sender
        self.poll_interval = poll_interval
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.lease = lease
        self.batch_size = batch_size
        self.clock = clock
        self.name = name
        self.sent = 0
        self.delayed = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=self.name)
        self._task.add_done_callback(nats_client.report_crash)
        log.info("consultation mail goes to " + self.transport.describe())

    def notify(self) -> None:
        """Look for due mail now; cheap, never blocks, safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        """Finish the mail in hand, then stop (claims of unsent mail run out; another mailer takes them)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def retry_delay(self, failures_before: int) -> float:
        """Seconds until the next try after the (failures_before + 1)-th failure, with jitter."""
        return min(self.max_retry, self.first_retry * 2**failures_before) * random.uniform(0.8, 1.0)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                break
            try:
                await self._send_due()
            except Exception as error:  # the database is away: the next poll tries again
                log.warning("mailer cannot read the consultations", extra={"error": repr(error)})

    async def _send_due(self) -> None:
        while not self._stopping:
            if not await asyncio.to_thread(store.has_mail_due, self.engine, self.clock()):
                return
            batch = await asyncio.to_thread(
                store.claim_mail, self.engine, self.clock(), self.lease, self.batch_size
            )
            if not batch:
                return
            for record in batch:
                if self._stopping:
                    return  # the claims run out and the next mailer sends them
                await self._send(record)

    async def _send(self, record: store.ConsultationRecord) -> None:
        message = compose(record, self.sender)
        try:
            await asyncio.to_thread(self.transport.send, message)
        except MailRefused as refused:
            log.error(
                "consultation mail refused for good",
                extra={"consultation_id": record.id, "error": str(refused)},
            )
            await asyncio.to_thread(
                store.mail_failed, self.engine, record.id, str(refused), retry_at=None, now=self.clock()
            )
            return
        except MailDelayed as delayed:
            self.delayed += 1
            delay = self.retry_delay(record.mail_attempts)
            log.warning(
                "consultation mail not sent; trying again later",
                extra={
                    "consultation_id": record.id,
                    "attempts": record.mail_attempts + 1,
                    "retry_in_seconds": round(delay, 2),
                    "error": str(delayed),
                },
            )
            now = self.clock()
            await asyncio.to_thread(
                store.mail_failed,
                self.engine,
                record.id,
                str(delayed),
                retry_at=now + timedelta(seconds=delay),
                now=now,
            )
            return
        # Sent: if marking it fails now, the claim runs out and the mail goes again with the same
        # Message-ID (at least once, never lost).
        await asyncio.to_thread(store.mark_mailed, self.engine, record.id, self.clock())
        self.sent += 1
        log.info(
            "consultation mailed",
            extra={"consultation_id": record.id, "attempts": record.mail_attempts + 1},
        )
