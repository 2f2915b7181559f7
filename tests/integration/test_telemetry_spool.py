"""The local trace spool: OTLP/JSON lines a collector can parse, rotated by size, bounded in total."""

from __future__ import annotations

import base64
import json

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from services.common import telemetry
from services.common.trace_spool import SpoolExporter


def provider_writing_to(exporter: SpoolExporter, service: str = "medcode-test") -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def as_protobuf(line: str) -> ExportTraceServiceRequest:
    """Parse a spool line with the OTLP protobuf's own JSON parser (it wants base64 ids, OTLP/JSON has hex)."""
    request = json.loads(line)

    def base64_ids(node):
        if isinstance(node, dict):
            return {
                key: base64.b64encode(bytes.fromhex(value)).decode()
                if key in {"traceId", "spanId", "parentSpanId"}
                else base64_ids(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [base64_ids(item) for item in node]
        return node

    return json_format.ParseDict(base64_ids(request), ExportTraceServiceRequest())


def test_the_spool_writes_otlp_json_that_the_otlp_protobuf_parses(tmp_path):
    exporter = SpoolExporter(tmp_path, "medcode-test")
    provider = provider_writing_to(exporter)
    tracer = provider.get_tracer("medcode.tests", "1.0")
    with tracer.start_as_current_span("GET /v1/codes/{system}/{code}", kind=SpanKind.SERVER) as request:
        with tracer.start_as_current_span(
            "send medcode.meter.page_viewed.v1",
            kind=SpanKind.PRODUCER,
            links=[Link(request.get_span_context(), {"why": "test"})],
            attributes={
                "messaging.system": "nats",
                "messaging.message.body.size": 42,
                "ratio": 0.5,
                "retried": False,
                "codes": ["E11.9", "I10"],
            },
        ) as publish:
            publish.add_event("acknowledged", {"stream.sequence": 7})
            publish.set_status(Status(StatusCode.ERROR, "no PubAck"))
    provider.shutdown()

    lines = exporter.path.read_text().splitlines()
    assert len(lines) == 2  # one export per span with the simple processor
    (child,) = as_protobuf(lines[0]).resource_spans[0].scope_spans[0].spans
    (parent,) = as_protobuf(lines[1]).resource_spans[0].scope_spans[0].spans
    resource = as_protobuf(lines[0]).resource_spans[0]
    assert {a.key: a.value.string_value for a in resource.resource.attributes}[
        "service.name"
    ] == "medcode-test"
    assert resource.scope_spans[0].scope.name == "medcode.tests"
    assert child.trace_id == parent.trace_id == request.get_span_context().trace_id.to_bytes(16, "big")
    assert child.parent_span_id == parent.span_id
    assert parent.kind == trace_pb2.Span.SPAN_KIND_SERVER and child.kind == trace_pb2.Span.SPAN_KIND_PRODUCER
    assert child.status.code == trace_pb2.Status.STATUS_CODE_ERROR and child.status.message == "no PubAck"
    attributes = {a.key: a.value for a in child.attributes}
    assert attributes["messaging.message.body.size"].int_value == 42
    assert attributes["ratio"].double_value == 0.5
    assert attributes["retried"].HasField("bool_value") and not attributes["retried"].bool_value
    assert [v.string_value for v in attributes["codes"].array_value.values] == ["E11.9", "I10"]
    assert child.events[0].name == "acknowledged" and child.links[0].span_id == parent.span_id
    assert child.end_time_unix_nano >= child.start_time_unix_nano > 0


def spool_files(directory):
    return sorted(directory.glob("*.jsonl"), key=lambda path: path.stat().st_mtime_ns)


def test_a_full_file_is_rotated_and_the_oldest_files_go_first(tmp_path):
    exporter = SpoolExporter(tmp_path, "medcode-test", max_file_bytes=4096, max_total_bytes=16384)
    provider = provider_writing_to(exporter)
    tracer = provider.get_tracer("t")
    names = [f"span {i:04d} " + "x" * 200 for i in range(400)]  # about 160 kB of spans
    for name in names:
        with tracer.start_as_current_span(name):
            pass
    provider.shutdown()

    files = spool_files(tmp_path)
    longest_line = max(len(line) + 1 for path in files for line in path.read_text().splitlines())
    assert len(files) > 1, "nothing was rotated"
    assert all(path.stat().st_size < 4096 + longest_line for path in files)
    assert sum(path.stat().st_size for path in files) <= 16384 + 4096 + longest_line
    kept = [json.loads(line) for path in files for line in path.read_text().splitlines()]
    kept_names = [r["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] for r in kept]
    assert kept_names == names[-len(kept_names) :], "the newest spans are kept, in order, and only they"
    assert len(kept_names) < len(names)


def test_a_spool_file_deleted_by_another_process_is_written_again(tmp_path):
    exporter = SpoolExporter(tmp_path, "medcode-test")
    provider = provider_writing_to(exporter)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("before"):
        pass
    exporter.path.unlink()  # as another process's pruning would
    with tracer.start_as_current_span("after"):
        pass
    provider.shutdown()
    assert '"name":"after"' in exporter.path.read_text()


def test_starting_prunes_what_earlier_runs_left_beyond_the_bound(tmp_path):
    for run in range(6):
        (tmp_path / f"medcode-old-{run}.jsonl").write_bytes(b"{}\n" * 1000)  # 3 kB each
    SpoolExporter(tmp_path, "medcode-test", max_file_bytes=1024, max_total_bytes=8192)
    left = sorted(path.name for path in tmp_path.glob("*.jsonl"))
    # 18 kB of old files against an 8 kB bound: the four oldest go, 6 kB stay.
    assert left == ["medcode-old-4.jsonl", "medcode-old-5.jsonl"]


def test_the_environment_chooses_otlp_over_the_spool_and_nothing_without_either(tmp_path):
    spool = {"MEDCODE_TRACE_SPOOL": "1", "MEDCODE_DATA_DIR": str(tmp_path)}
    chosen = telemetry.exporter_from_env("medcode-lookup", spool)
    assert isinstance(chosen, SpoolExporter)
    assert chosen.directory == tmp_path.resolve() / "traces"
    assert chosen.path.name.startswith("medcode-lookup-")
    otlp = telemetry.exporter_from_env(
        "medcode-lookup", {**spool, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    )
    assert type(otlp).__name__ == "OTLPSpanExporter"
    otlp.shutdown()
    assert telemetry.exporter_from_env("medcode-lookup", {"MEDCODE_DATA_DIR": str(tmp_path)}) is None
    assert telemetry.exporter_from_env("medcode-lookup", {**spool, "MEDCODE_TRACE_SPOOL": "0"}) is None
