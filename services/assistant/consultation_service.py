"""Starting and stopping CaseConsultant's parts: schema, outbox relay, worker, mailer, use cases.

The assistant's bootstrap calls `start_consultations` once and runs the returned finalizers at
shutdown, in order: the worker stops taking events, the relay publishes what it holds, the mailer
finishes the mail in hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from services.assistant.consultation_mailer import ConsultationMailer
from services.assistant.consultation_store import Citation
from services.assistant.consultation_tables import outbox
from services.assistant.consultation_worker import (
    Answerer,
    AnswerImpossible,
    ComposedAnswer,
    ConsultationWorker,
)
from services.assistant.consultations import Consultations
from services.assistant.mail import MailSettings, transport_for
from services.assistant.migrate import current_revision, upgrade_to_head
from services.common.db import create_db_engine
from services.common.outbox_relay import OutboxRelay, start_outbox_relay
from services.common.settings import Settings
from services.common.transactions import write_transaction

log = logging.getLogger(__name__)

Finalizer = Callable[[], Awaitable[None]]


def engine_answerer(assistant) -> Answerer:
    """The worker's answerer: the assistant's engine (services.assistant.engine.Assistant), as Ask uses it."""
    from services.assistant.catalog_client import ENUM_TO_SYSTEM, SYSTEM_TO_ENUM
    from services.assistant.errors import InvalidQuestion

    async def answer(question: str, context_code: str, context_system: int) -> ComposedAnswer:
        try:
            composed = await assistant.answer(
                question, context_code=context_code, context_system=ENUM_TO_SYSTEM.get(context_system, "")
            )
        except InvalidQuestion as invalid:
            raise AnswerImpossible(invalid.message) from None
        citations = [Citation(SYSTEM_TO_ENUM[c.system], c.code, c.title) for c in composed.citations]
        return ComposedAnswer(composed.markdown, citations, composed.intent)

    return answer


def assistant_engine(settings: Settings) -> Engine:
    """The assistant's own database: MEDCODE_ASSISTANT_DATABASE_URL, or assistant.db in the data dir."""
    return create_db_engine(settings.database_url("assistant"))


@dataclass
class ConsultationService:
    consultations: Consultations
    mailer: ConsultationMailer
    relay: OutboxRelay | None = None
    worker: ConsultationWorker | None = None
    finalizers: list[Finalizer] = field(default_factory=list)

    async def stop(self) -> None:
        for finalize in self.finalizers:
            try:
                await finalize()
            except Exception:  # one failing finalizer must not keep the others from running
                log.exception("consultation finalizer failed")


async def start_consultations(
    engine: Engine,
    accounts_stub,
    answerer: Answerer,
    mail: MailSettings,
    *,
    nats_url: str | None,
    worker_options: dict | None = None,
    mailer_options: dict | None = None,
) -> ConsultationService:
    """Migrate the assistant database and start the mailer, and with `nats_url` the relay and worker.

    Without NATS, consultations are stored and their events wait in the outbox (tests of the RPCs
    alone); the mailer runs either way, since it works from the database.
    """
    await asyncio.to_thread(upgrade_to_head, engine)
    log.info("assistant schema ready", extra={"revision": current_revision(engine)})
    mailer = ConsultationMailer(engine, transport_for(mail), mail.sender, **(mailer_options or {}))
    await mailer.start()
    service = ConsultationService(Consultations(engine, accounts_stub), mailer)
    stops: list[Finalizer] = [mailer.stop]
    try:
        if nats_url:
            service.relay = await start_outbox_relay(
                engine, outbox, nats_url, name="assistant-outbox", write_transaction=write_transaction
            )
            stops.insert(0, service.relay.stop)
            service.consultations.on_submitted = service.relay.notify
            service.worker = ConsultationWorker(
                engine,
                nats_url,
                answerer,
                sender=mail.sender,
                on_answered=mailer.notify,
                **(worker_options or {}),
            )
            await service.worker.start()
            stops.insert(0, service.worker.stop)
    except BaseException:
        for stop in stops:
            await stop()
        raise
    service.finalizers = stops
    return service
