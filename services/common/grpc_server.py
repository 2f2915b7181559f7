"""gRPC server bootstrap: asyncio server, standard health, reflection, tracing, graceful stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from services.common import metrics
from services.common.telemetry import spans_exported

log = logging.getLogger(__name__)

Finalizer = Callable[[], Awaitable[None]]


@dataclass
class RunningServer:
    """A started server, the port it bound and the health servicer that reports its services."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    service_names: tuple[str, ...]
    finalizers: list[Finalizer] = field(default_factory=list)

    async def set_serving(self, serving: bool) -> None:
        """Report the services (and the server as a whole, "") SERVING or NOT_SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in (*self.service_names, ""):
            await self.health.set(name, status)

    async def stop(self, grace: float = 5.0) -> None:
        """Say NOT_SERVING, drain in-flight calls for up to `grace` seconds, then run the finalizers."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        for finalize in self.finalizers:
            try:
                await finalize()
            except Exception:  # a failing finalizer must not keep the others from running
                log.exception("finalizer failed", extra={"finalizer": getattr(finalize, "__name__", "?")})


async def start_server(
    address: str,
    register: Callable[[grpc.aio.Server], None],
    service_names: Sequence[str],
    *,
    generic_handlers: Iterable[grpc.GenericRpcHandler] = (),
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    max_message_bytes: int = 16 * 1024 * 1024,
    trace_calls: bool | None = None,
) -> RunningServer:
    """Start a server on `address` (port 0 picks a free port) with health and reflection.

    Each call gets a server span when the process exports spans (or `trace_calls` says so); the
    interceptor costs a quarter of a bare server's throughput, so it is not installed for nothing.
    """
    if trace_calls is None:
        trace_calls = spans_exported()
    server = grpc.aio.server(
        interceptors=[
            *([aio_server_interceptor()] if trace_calls else []),
            *metrics.server_interceptors(),
            *interceptors,
        ],
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    if generic_handlers:
        server.add_generic_rpc_handlers(tuple(generic_handlers))
    register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as error:  # grpc reports a failed bind this way
        raise OSError(f"could not bind {address}: is another process listening there?") from error
    if port == 0:
        raise OSError(f"could not bind {address}: is another process listening there?")
    await server.start()
    running = RunningServer(server, port, health_servicer, tuple(service_names))
    await running.set_serving(True)
    log.info("serving", extra={"address": address.rsplit(":", 1)[0] + f":{port}", "services": service_names})
    return running


async def serve_until_signal(running: RunningServer, grace: float = 5.0) -> None:
    """Block until SIGTERM or SIGINT, then stop the server gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping", extra={"grace_seconds": grace})
    await running.stop(grace)
    log.info("stopped")
