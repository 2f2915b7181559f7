"""The one place the assistant's adapters are built: lookup and accounts channels, engine, server."""

from __future__ import annotations

import logging

import grpc
from medcode.accounts.v1 import accounts_pb2_grpc
from medcode.lookup.v1 import lookup_pb2_grpc

from services.assistant.catalog_client import CatalogClient
from services.assistant.conversations import ConversationStore
from services.assistant.engine import Assistant
from services.assistant.metering import authorize_question
from services.assistant.server import SERVICE_NAME, AssistantServicer, Authorize, build_handler
from services.assistant.settings import AssistantSettings
from services.common.grpc_server import Finalizer, RunningServer, start_server

log = logging.getLogger(__name__)


def build_assistant(
    lookup_channel: grpc.aio.Channel, settings: AssistantSettings, finalizers: list[Finalizer]
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
    return Assistant(catalog, conversations, composer=composer)


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
) -> RunningServer:
    """Serve AssistantService on `address` (port 0 in tests), over the lookup and accounts services;
    the server's finalizers close what this opens.

    Channels connect lazily: a lookup or accounts service that is down answers UNAVAILABLE per
    question, and the assistant serves again as soon as they are back.
    """
    finalizers: list[Finalizer] = []
    try:
        lookup_channel = grpc.aio.insecure_channel(lookup_addr)
        finalizers.append(lookup_channel.close)
        accounts_channel = grpc.aio.insecure_channel(accounts_addr)
        finalizers.append(accounts_channel.close)
        assistant = build_assistant(lookup_channel, settings, finalizers)
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
