"""The assistant for tests: a real server on a socket over the real lookup and accounts servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
from medcode.assistant.v1 import assistant_pb2_grpc

from services.assistant.settings import AssistantSettings
from services.common.grpc_server import RunningServer


@dataclass
class AssistantHarness:
    running: RunningServer
    stub: assistant_pb2_grpc.AssistantServiceStub
    channel: grpc.aio.Channel


def bearer(token: str, request_id: str | None = None) -> tuple[tuple[str, str], ...]:
    """The metadata the gateway sends: the session token, and a request id when a retry must count once."""
    metadata = [("authorization", f"Bearer {token}")]
    if request_id:
        metadata.append(("x-request-id", request_id))
    return tuple(metadata)


@asynccontextmanager
async def running_assistant(
    lookup_addr: str, accounts_addr: str, settings: AssistantSettings | None = None
) -> AsyncIterator[AssistantHarness]:
    """The assistant on a free port of 127.0.0.1 (no consultations: those need its database)."""
    from services.assistant.bootstrap import start_assistant

    running = await start_assistant(
        "127.0.0.1:0", lookup_addr, accounts_addr, settings or AssistantSettings()
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            yield AssistantHarness(running, assistant_pb2_grpc.AssistantServiceStub(channel), channel)
    finally:
        await running.stop(grace=1)
