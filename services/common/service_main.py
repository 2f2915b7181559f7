"""The run of a service process, the same for every service: settings from the environment, logging,
tracing, the service's own start, serving until SIGTERM or SIGINT, then the finalizers in order.

A process that cannot start (a bad setting, an address in use, a missing dependency) says why on one
line of stderr and exits with 2, without a traceback: an operator reads it, a supervisor sees it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence

from services.common.grpc_server import Finalizer, RunningServer, serve_until_signal
from services.common.logs import configure_logging
from services.common.metrics import start_metrics_endpoint
from services.common.settings import Settings, SettingsError
from services.common.telemetry import configure_tracing

CANNOT_START = 2
# Start-up failures every service reports in one line: a bad setting, an address that cannot be bound.
_ALWAYS: dict[type[Exception], Callable[[Exception], str]] = {SettingsError: str, OSError: str}

# `start(settings, *service_settings, finalizers)` builds the adapters and starts the server; what it
# opens it hands to `finalizers`, which run when the server stops, or at once if the start fails.
Start = Callable[..., Awaitable[RunningServer]]


def finalizer_of(close: Callable[[], object]) -> Finalizer:
    """A finalizer that calls a plain `close()` (an engine's dispose, a provider's shutdown)."""

    async def finalize() -> None:
        close()

    finalize.__name__ = getattr(close, "__qualname__", finalize.__name__)
    return finalize


def run_service(
    name: str,
    start: Start,
    *,
    service_settings: Sequence[Callable[[], object]] = (),
    cannot_start: Mapping[type[Exception], Callable[[Exception], str]] | None = None,
) -> int:
    """Run the service `name` until a signal stops it; the process's exit code (2: it could not start).

    `service_settings` read the service's own settings after the common ones, before anything starts;
    `cannot_start` says, per exception class, what to tell the operator when the start fails with it.
    """
    explanations = {**_ALWAYS, **(cannot_start or {})}
    try:
        settings = Settings.from_env()
        own = [read() for read in service_settings]
        asyncio.run(_serve(name, start, settings, own))
    except Exception as error:
        explain = next((how for kind, how in explanations.items() if isinstance(error, kind)), None)
        if explain is None:
            raise
        print(f"{name}: cannot start: {explain(error)}", file=sys.stderr)
        return CANNOT_START
    return 0


async def _serve(name: str, start: Start, settings: Settings, own: list[object]) -> None:
    configure_logging(name, settings.log_level)
    tracer_provider = configure_tracing(f"medcode-{name}")
    metrics_endpoint = start_metrics_endpoint(name)
    finalizers: list[Finalizer] = [metrics_endpoint.stop] if metrics_endpoint else []
    try:
        running = await start(settings, *own, finalizers)
    except BaseException:
        for finalize in finalizers:
            await finalize()
        raise
    running.finalizers += [*finalizers, finalizer_of(tracer_provider.shutdown)]
    await serve_until_signal(running)
