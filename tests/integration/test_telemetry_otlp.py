"""A service started with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans to a real OTLP receiver, by either protocol.

The lookup service runs as an operator runs it; the call carries a W3C traceparent as a gateway's
client span would, and the service's server span and SQL spans continue that trace.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from medcode.lookup.v1 import lookup_pb2, lookup_pb2_grpc

from tests.support.accounts_server import free_port, wait_serving
from tests.support.otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[2]
CALLER_TRACE = "5f1e0d2c3b4a59687766554433221100"
CALLER_SPAN = "0123456789abcdef"
GET_CODE = "/medcode.lookup.v1.LookupService/GetCode"


@pytest.fixture
def receiver():
    with OtlpReceiver() as running:
        yield running


@pytest.mark.parametrize(
    ("protocol", "service_name", "expected_name"),
    [("grpc", None, "medcode-lookup"), ("http/protobuf", "lookup-canary", "lookup-canary")],
    ids=["grpc", "http-protobuf-renamed"],
)
def test_the_lookup_service_exports_its_call_and_sql_spans_into_the_callers_trace(
    catalog_engine, receiver, protocol, service_name, expected_name
):
    address = f"127.0.0.1:{free_port()}"
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "MEDCODE_LOOKUP_DATABASE_URL": catalog_engine.url.render_as_string(hide_password=False),
        "MEDCODE_LOOKUP_ADDR": address,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        **({"OTEL_SERVICE_NAME": service_name} if service_name else {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.lookup"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_serving(address, process)
        with grpc.insecure_channel(address) as channel:
            lookup_pb2_grpc.LookupServiceStub(channel).GetCode(
                lookup_pb2.GetCodeRequest(system=lookup_pb2.CODE_SYSTEM_ICD10CM, code="J45.909"),
                metadata=(("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"),),
                timeout=10,
            )

        def call_and_sql_arrived(spans) -> bool:
            calls = [s for s in spans if s.name == GET_CODE and s.trace_id == CALLER_TRACE]
            return bool(calls) and any(s.parent_id == calls[0].span_id and s.kind == "client" for s in spans)

        spans = receiver.wait_for(call_and_sql_arrived)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)

    (call,) = [s for s in spans if s.name == GET_CODE]
    assert call.service == expected_name
    assert call.kind == "server" and call.parent_id == CALLER_SPAN
    assert call.attributes["rpc.system"] == "grpc" and call.attributes["rpc.grpc.status_code"] == 0
    sql = [s for s in spans if s.parent_id == call.span_id]
    assert sql and all(s.kind == "client" and s.attributes["db.system"] == "sqlite" for s in sql)
    assert all(s.trace_id == CALLER_TRACE for s in sql)
    assert receiver.requests["grpc" if protocol == "grpc" else "http"] >= 1
    assert receiver.requests["http" if protocol == "grpc" else "grpc"] == 0
