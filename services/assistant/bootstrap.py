"""The one place the assistant's adapters are built: lookup and accounts channels, engine, server."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
from medcode.accounts.v1 import accounts_pb2_grpc
from medcode.lookup.v1 import lookup_pb2_grpc
from sqlalchemy import Engine

from services.assistant.catalog_client import CatalogClient
from services.assistant.consultation_service import engine_answerer, start_consultations
from services.assistant.conversations import ConversationStore
from services.assistant.engine import Assistant
from services.assistant.mail import MailSettings
from services.assistant.metering import authorize_question
from services.assistant.ncci import ncci_lookup
from services.assistant.server import SERVICE_NAME, AssistantServicer, Authorize, build_handler
from services.assistant.settings import AssistantSettings
from services.common.grpc_server import Finalizer, RunningServer, start_server

log = logging.getLogger(__name__)


def build_assistant(
    lookup_channel: grpc.aio.Channel, settings: AssistantSettings, finalizers: list[Finalizer], *, ncci=None
) -> Assistant:
    """The engine over a channel to the lookup service, with the language model when one is configured."""
    catalog = CatalogClient(lookup_pb2_grpc.LookupServiceStub(lookup_channel))
    conversations = ConversationStore(settings.max_conversations, settings.conversation_idle_seconds)
    composer = None
    if settings.llm_url:
        from services.assistant.llm import LlmComposer

        composer = LlmComposer.from_settings(catalog, settings)
        finalizers.append(composer.close)
        log.info(
            "language model configured", extra={"llm_url": settings.llm_url, "model": settings.llm_model}
        )
    return Assistant(catalog, conversations, composer=composer, ncci=ncci)


def metering_authorize(accounts_channel: grpc.aio.Channel) -> Authorize:
    """Questions counted by the accounts service (AuthorizeQuestion) before they are answered."""
    stub = accounts_pb2_grpc.AccountsServiceStub(accounts_channel)

    async def authorize(token: str, request_id: str):
        return await authorize_question(stub, token, request_id, "ask")

    return authorize


async def start_assistant(
    address: str,
    lookup_addr: str,
    accounts_addr: str,
    settings: AssistantSettings,
    *,
    consultations=None,
    consultation_db: Engine | None = None,
    mail: MailSettings | None = None,
    nats_url: str | None = None,
) -> RunningServer:
    """Serve AssistantService on `address` (port 0 in tests), over the lookup and accounts services;
    the server's finalizers close what this opens.

    Channels connect lazily: a lookup or accounts service that is down answers UNAVAILABLE per
    question, and the assistant serves again as soon as they are back.

    With `consultation_db` (the assistant's own database), CaseConsultant runs beside the server:
    the schema is migrated, consultations are stored and mailed (`mail`), and with `nats_url` their
    events are published and answered by the worker; the engine's pair answers read the NCCI edits
    imported into that database.
    """
    finalizers: list[Finalizer] = []
    try:
        lookup_channel = grpc.aio.insecure_channel(lookup_addr)
        finalizers.append(lookup_channel.close)
        accounts_channel = grpc.aio.insecure_channel(accounts_addr)
        finalizers.append(accounts_channel.close)
        ncci = ncci_lookup(consultation_db) if consultation_db is not None else None
        assistant = build_assistant(lookup_channel, settings, finalizers, ncci=ncci)
        if consultation_db is not None and consultations is None:
            service = await start_consultations(
                consultation_db,
                accounts_pb2_grpc.AccountsServiceStub(accounts_channel),
                engine_answerer(assistant),
                mail or MailSettings(maildir=Path("var") / "mail"),
                nats_url=nats_url,
            )
            # First of all: the worker stops taking events while the channels it answers over are open.
            finalizers.insert(0, service.stop)
            consultations = service.consultations
        servicer = AssistantServicer(assistant, metering_authorize(accounts_channel), consultations)
        running = await start_server(
            address, lambda server: None, [SERVICE_NAME], generic_handlers=[build_handler(servicer)]
        )
    except BaseException:
        for finalize in finalizers:
            await finalize()
        raise
    running.finalizers += finalizers
    return running
