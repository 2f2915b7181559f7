"""The gateway's gRPC channels to lookup and accounts: stubs, a deadline on every call, one retry.

Reads are retried once on UNAVAILABLE (a connection that broke between two calls) within the same
deadline; writes are not, except AuthorizeView, whose request id makes a retry get the first answer.
Reconnect back-off is kept short so that a backend that comes back is used within seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from medcode.accounts.v1 import accounts_pb2_grpc
from medcode.lookup.v1 import lookup_pb2_grpc

from gateway.errors import problem_from_rpc
from gateway.settings import GatewaySettings
from services.common import telemetry

LOOKUP = "lookup"
ACCOUNTS = "accounts"
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
)


@dataclass
class Backend:
    name: str
    address: str
    channel: grpc.aio.Channel | None = None
    stub: Any = None
    health: health_pb2_grpc.HealthStub | None = None


@dataclass
class GatewayClients:
    """Owns the channels: `open()` inside the serving event loop, `close()` when the app stops."""

    settings: GatewaySettings
    backends: dict[str, Backend] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.backends = {
            LOOKUP: Backend(LOOKUP, self.settings.lookup_addr),
            ACCOUNTS: Backend(ACCOUNTS, self.settings.accounts_addr),
        }

    async def open(self) -> None:
        stubs = {LOOKUP: lookup_pb2_grpc.LookupServiceStub, ACCOUNTS: accounts_pb2_grpc.AccountsServiceStub}
        # A client span per call when spans are exported (one trace per request); none otherwise.
        interceptors = telemetry.client_interceptors()
        for backend in self.backends.values():
            backend.channel = grpc.aio.insecure_channel(
                backend.address, options=CHANNEL_OPTIONS, interceptors=interceptors or None
            )
            backend.stub = stubs[backend.name](backend.channel)
            backend.health = health_pb2_grpc.HealthStub(backend.channel)

    async def close(self, grace: float | None = 1.0) -> None:
        for backend in self.backends.values():
            if backend.channel is not None:
                await backend.channel.close(grace)
                backend.channel = None

    @property
    def lookup(self) -> lookup_pb2_grpc.LookupServiceStub:
        return self.backends[LOOKUP].stub

    @property
    def accounts(self) -> accounts_pb2_grpc.AccountsServiceStub:
        return self.backends[ACCOUNTS].stub

    async def call(
        self,
        backend: str,
        method: str,
        request: Any,
        *,
        retry: bool = True,
        deadline: float | None = None,
        field_names: dict[str, str] | None = None,
    ) -> Any:
        """One RPC under the deadline; a failure becomes the Problem the client is answered with."""
        rpc = getattr(self.backends[backend].stub, method)
        timeout = deadline or self.settings.deadline_seconds
        give_up_at = time.monotonic() + timeout
        try:
            try:
                return await rpc(request, timeout=timeout)
            except grpc.aio.AioRpcError as error:
                left = give_up_at - time.monotonic()
                if not retry or error.code() != grpc.StatusCode.UNAVAILABLE or left <= 0.01:
                    raise
                return await rpc(request, timeout=left)
        except grpc.aio.AioRpcError as error:
            raise problem_from_rpc(
                error,
                backend,
                retry_after_seconds=self.settings.retry_after_seconds,
                field_names=field_names,
            ) from None

    async def serving(self, seconds: float = 1.0) -> dict[str, str]:
        """Each backend's grpc.health.v1 status (overall), or UNREACHABLE."""

        async def check(backend: Backend) -> str:
            try:
                answer = await backend.health.Check(health_pb2.HealthCheckRequest(), timeout=seconds)
            except grpc.aio.AioRpcError:
                return "UNREACHABLE"
            return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)

        backends = list(self.backends.values())
        statuses = await asyncio.gather(*(check(b) for b in backends))
        return {b.name: status for b, status in zip(backends, statuses, strict=True)}
