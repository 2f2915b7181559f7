"""OpenTelemetry set-up, once per process: a tracer provider, OTLP export when an endpoint is set."""

from __future__ import annotations

import logging
import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

log = logging.getLogger(__name__)

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


def configure_tracing(default_service_name: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """Install the process's tracer provider; returns it so that its owner shuts it down at exit."""
    name = os.environ.get("OTEL_SERVICE_NAME") or default_service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter is None and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        exporter = _otlp_exporter(os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"))
    if exporter is not None:
        global _exporting
        _exporting = True
        provider.add_span_processor(BatchSpanProcessor(exporter))
        log.info("exporting spans", extra={"exporter": type(exporter).__name__})
    trace.set_tracer_provider(provider)
    return provider
