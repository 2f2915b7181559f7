"""OpenTelemetry set-up, once per process, and the instrumentation every process shares.

Spans go by OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (grpc or http/protobuf), else to the local
spool under `MEDCODE_DATA_DIR/traces/` when `MEDCODE_TRACE_SPOOL=1` (`make run` sets it), else
nowhere. Instrumentation (gRPC clients, SQLAlchemy engines, FastAPI apps) is installed only when spans
go somewhere: without an exporter it would cost throughput for nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

log = logging.getLogger(__name__)

SPOOL_SWITCH = "MEDCODE_TRACE_SPOOL"
_ON = {"1", "true", "yes", "on"}

_exporting = False


def spans_exported() -> bool:
    """Whether this process exports spans; without an exporter, servers skip per-call tracing."""
    return _exporting


def _otlp_exporter(protocol: str) -> SpanExporter:
    # The exporters read OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) themselves.
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    elif protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: use grpc or http/protobuf")
    return OTLPSpanExporter()


def spool_directory(env: Mapping[str, str] | None = None) -> Path:
    """Where the local spool keeps spans: MEDCODE_DATA_DIR/traces (./var/traces by default)."""
    env = os.environ if env is None else env
    return Path(env.get("MEDCODE_DATA_DIR", "./var")).expanduser().resolve() / "traces"


def exporter_from_env(service_name: str, env: Mapping[str, str] | None = None) -> SpanExporter | None:
    """The exporter the environment asks for: OTLP, else the spool, else None (spans are not kept)."""
    env = os.environ if env is None else env
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"
        )
        return _otlp_exporter(protocol.strip())
    if env.get(SPOOL_SWITCH, "").strip().lower() in _ON:
        from services.common.trace_spool import SpoolExporter

        return SpoolExporter(spool_directory(env), service_name)
    return None


def configure_tracing(default_service_name: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """Install the process's tracer provider; returns it so that its owner shuts it down at exit.

    OTEL_SERVICE_NAME overrides the default name; OTEL_TRACES_SAMPLER and OTEL_BSP_* are read by the SDK.
    """
    name = os.environ.get("OTEL_SERVICE_NAME") or default_service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter is None:
        exporter = exporter_from_env(name)
    if exporter is not None:
        global _exporting
        _exporting = True
        provider.add_span_processor(BatchSpanProcessor(exporter))
        log.info("exporting spans", extra={"exporter": type(exporter).__name__, "service_name": name})
    trace.set_tracer_provider(provider)
    return provider


def current_trace_id() -> str | None:
    """The active span's trace id as 32 hex digits (for error bodies and logs), or None outside a trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def _traced(tracer_provider: trace.TracerProvider | None) -> bool:
    return tracer_provider is not None or spans_exported()


def client_interceptors(tracer_provider: trace.TracerProvider | None = None) -> list:
    """Interceptors for a `grpc.aio` channel: a CLIENT span per call, its context in the metadata.

    Empty when spans are not exported. Call after `configure_tracing`, when building channels:
    `grpc.aio.insecure_channel(address, interceptors=client_interceptors())`.
    """
    if not _traced(tracer_provider):
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors, filters

    # Health checks are probes (/readyz), not requests: traced, each would be a trace of its own.
    not_probes = filters.negate(filters.service_name("grpc.health.v1.Health"))
    return aio_client_interceptors(tracer_provider=tracer_provider, filter_=not_probes)


def _short_sql_name(name: str) -> str:
    # The instrumentation names a span "{operation} {database}"; a SQLite database is a whole path.
    operation, _, database = name.partition(" ")
    return f"{operation} {Path(database).name}" if "/" in database else name


class _UnderARequest(trace.Tracer):
    """Starts SQL spans only below a span in progress, so that background polls make no traces."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(self, name, context=None, *args, **kwargs) -> trace.Span:
        if not trace.get_current_span(context).get_span_context().is_valid:
            return trace.INVALID_SPAN
        return self._tracer.start_span(_short_sql_name(name), context, *args, **kwargs)

    @contextmanager
    def start_as_current_span(self, name, context=None, *args, **kwargs) -> Iterator[trace.Span]:
        if not trace.get_current_span(context).get_span_context().is_valid:
            yield trace.INVALID_SPAN
            return
        with self._tracer.start_as_current_span(_short_sql_name(name), context, *args, **kwargs) as span:
            yield span


def instrument_engine(engine, tracer_provider: trace.TracerProvider | None = None) -> None:
    """A CLIENT span per SQL statement run under a request's span (none for background polls).

    A no-op when spans are not exported, and for an engine instrumented already.
    """
    if not _traced(tracer_provider) or getattr(engine, "_medcode_traced", False):
        return
    from opentelemetry.instrumentation.sqlalchemy import __version__ as version
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpUpDownCounter

    # EngineTracer directly: SQLAlchemyInstrumentor().instrument() works once per process and also
    # wraps create_engine and Engine.connect globally; here each engine is instrumented by its owner.
    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", version, tracer_provider)
    EngineTracer(_UnderARequest(tracer), engine, NoOpUpDownCounter("db.client.connections.usage"))
    engine._medcode_traced = True


# Probes and scrapes every few seconds would bury the requests in their traces.
UNTRACED_PATHS = "/healthz,/readyz,/metrics"


def instrument_fastapi(app, tracer_provider: trace.TracerProvider | None = None) -> None:
    """A SERVER span per HTTP request (not for /healthz, /readyz, /metrics); a no-op without export.

    Call once on the app, after `configure_tracing`; the span's context is current in the route, so
    the gRPC client spans of `client_interceptors()` become its children.
    """
    if not _traced(tracer_provider):
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider,
        excluded_urls=UNTRACED_PATHS,
        # The per-message ASGI send/receive spans double a request's span count and say nothing new.
        exclude_spans=["receive", "send"],
    )


def server_attributes(url) -> dict[str, str | int]:
    """`server.address` and `server.port` of a broker URL (a string or a parsed URL), for client spans."""
    if url is None:
        return {}
    if isinstance(url, str):
        from urllib.parse import urlparse

        url = urlparse(url)
    attributes: dict[str, str | int] = {}
    if url.hostname:
        attributes["server.address"] = url.hostname
    if url.port:
        attributes["server.port"] = url.port
    return attributes
