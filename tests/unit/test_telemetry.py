"""Tracing is configured from the standard OTEL_* variables; servers trace calls only when spans go somewhere."""

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common import telemetry


def test_an_unknown_protocol_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="grpc or http/protobuf"):
        telemetry._otlp_exporter("carrier-pigeon")


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_both_otlp_protocols_build_an_exporter(protocol):
    exporter = telemetry._otlp_exporter(protocol)
    assert type(exporter).__name__ == "OTLPSpanExporter"
    exporter.shutdown()


def test_an_exporter_turns_call_tracing_on(monkeypatch):
    monkeypatch.setattr(telemetry, "_exporting", False)
    exporter = InMemorySpanExporter()
    provider = telemetry.configure_tracing("medcode-test", exporter=exporter)
    assert telemetry.spans_exported()
    with provider.get_tracer("t").start_as_current_span("work"):
        pass
    provider.force_flush()
    assert [span.name for span in exporter.get_finished_spans()] == ["work"]
    assert exporter.get_finished_spans()[0].resource.attributes["service.name"] == "medcode-test"
    provider.shutdown()
