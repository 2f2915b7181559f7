"""The shared instrumentation: SQL spans only under a request, no spans for probes, nothing without export."""

from __future__ import annotations

import grpc
import httpx
from fastapi import FastAPI
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from services.common import telemetry
from services.common.db import create_db_engine
from services.common.grpc_server import start_server


def recording() -> tuple[TracerProvider, InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "medcode-test"}))
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider, spans


def test_sql_spans_are_made_under_a_request_and_not_for_background_work(tmp_path):
    provider, spans = recording()
    engine = create_db_engine(f"sqlite:///{tmp_path}/accounts.db")
    telemetry.instrument_engine(engine, provider)
    telemetry.instrument_engine(engine, provider)  # a second call must not double the spans
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))  # a relay's poll: no request around it
        with provider.get_tracer("t").start_as_current_span("AuthorizeView", kind=SpanKind.SERVER) as call:
            with engine.connect() as conn:
                conn.execute(text("SELECT 2"))
    finally:
        engine.dispose()

    (sql,) = [s for s in spans.get_finished_spans() if s.name != "AuthorizeView"]
    assert sql.parent.span_id == call.get_span_context().span_id
    assert sql.kind == SpanKind.CLIENT
    assert sql.name == "SELECT accounts.db"  # the file's name, not its whole path
    assert sql.attributes["db.system"] == "sqlite" and sql.attributes["db.statement"] == "SELECT 2"


def test_nothing_is_instrumented_when_spans_are_not_exported(tmp_path, monkeypatch):
    monkeypatch.setattr(telemetry, "_exporting", False)
    engine = create_db_engine(f"sqlite:///{tmp_path}/lookup.db")
    app = FastAPI()
    middleware_before = len(app.user_middleware)

    telemetry.instrument_engine(engine)
    telemetry.instrument_fastapi(app)

    assert not getattr(engine, "_medcode_traced", False)
    assert len(app.user_middleware) == middleware_before
    assert telemetry.client_interceptors() == []
    engine.dispose()


async def test_grpc_client_spans_carry_the_context_and_skip_health_probes():
    provider, spans = recording()
    running = await start_server(
        "127.0.0.1:0", lambda server: None, ["medcode.test.v1.Nothing"], trace_calls=False
    )
    try:
        async with grpc.aio.insecure_channel(
            f"127.0.0.1:{running.port}", interceptors=telemetry.client_interceptors(provider)
        ) as channel:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            reflection = channel.unary_unary("/medcode.test.v1.Nothing/Missing")
            with provider.get_tracer("t").start_as_current_span("GET /v1/codes/{system}/{code}"):
                try:
                    await reflection(b"")
                except grpc.aio.AioRpcError as error:
                    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await running.stop(grace=0)

    names = [s.name for s in spans.get_finished_spans()]
    assert "/grpc.health.v1.Health/Check" not in names
    (call,) = [s for s in spans.get_finished_spans() if s.name == "/medcode.test.v1.Nothing/Missing"]
    assert call.kind == SpanKind.CLIENT and not call.status.is_ok


async def test_http_requests_get_a_server_span_by_route_and_probes_get_none():
    provider, spans = recording()
    app = FastAPI()

    @app.get("/v1/codes/{system}/{code}")
    async def code_page(system: str, code: str) -> dict:
        return {"system": system, "code": code, "trace_id": telemetry.current_trace_id()}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "alive"}

    telemetry.instrument_fastapi(app, provider)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        page = (await client.get("/v1/codes/icd10cm/E11.9")).json()
        await client.get("/healthz")

    (request,) = spans.get_finished_spans()  # no span for /healthz, no per-message send/receive spans
    assert request.name == "GET /v1/codes/{system}/{code}" and request.kind == SpanKind.SERVER
    assert request.attributes["http.route"] == "/v1/codes/{system}/{code}"
    assert page["trace_id"] == format(request.context.trace_id, "032x")


def test_broker_urls_become_server_attributes():
    assert telemetry.server_attributes("nats://10.0.0.7:4222") == {
        "server.address": "10.0.0.7",
        "server.port": 4222,
    }
    assert telemetry.server_attributes(None) == {}
