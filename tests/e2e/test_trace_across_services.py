"""One request is one trace: its spans, collected by a real OTLP receiver, cross every process it touches.

Lookup and accounts run as operators run them, each with OTEL_EXPORTER_OTLP_ENDPOINT pointing at the
receiver, beside a real nats-server. A code page is opened (guest, GetCode, AuthorizeView) under one
SERVER span; the grant's event goes through the outbox, the relay's publish and the meter. Every
span of all of that must share the trace id, nest under the right parent, and the NATS spans must
carry the messaging semantic conventions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from medcode.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from medcode.lookup.v1 import lookup_pb2, lookup_pb2_grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from services.common.telemetry import client_interceptors
from tests.support.accounts_server import ADDRESS, free_port, start_process, wait_serving
from tests.support.nats_server import NatsServer
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan

ROOT = Path(__file__).resolve().parents[2]
PAGE_VIEWED = "medcode.meter.page_viewed.v1"
GET_CODE = "/medcode.lookup.v1.LookupService/GetCode"
AUTHORIZE_VIEW = "/medcode.accounts.v1.AccountsService/AuthorizeView"
CREATE_GUEST = "/medcode.accounts.v1.AccountsService/CreateGuest"


def exporting_to(receiver: OtlpReceiver) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Platform:
    """Lookup and accounts (with its relay and meter) as processes, exporting to one receiver."""

    def __init__(self, receiver: OtlpReceiver, nats: NatsServer, catalog_url: str, data_dir: Path) -> None:
        env = exporting_to(receiver)
        self.lookup_addr = f"127.0.0.1:{free_port()}"
        self.lookup = subprocess.Popen(
            [sys.executable, "-m", "services.lookup"],
            env={**env, "MEDCODE_LOOKUP_DATABASE_URL": catalog_url, "MEDCODE_LOOKUP_ADDR": self.lookup_addr},
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.accounts, self.accounts_addr = start_process(
            f"sqlite:///{data_dir / 'accounts.db'}", {**env, "NATS_URL": nats.url}
        )
        for address, process in ((self.lookup_addr, self.lookup), (self.accounts_addr, self.accounts)):
            wait_serving(address, process)

    def stop(self) -> None:
        for process in (self.accounts, self.lookup):
            stop(process)


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def platform(receiver, catalog_engine, tmp_path) -> Iterator[tuple[Platform, NatsServer]]:
    with NatsServer(tmp_path / "jetstream") as nats:
        running = Platform(receiver, nats, catalog_engine.url.render_as_string(hide_password=False), tmp_path)
        try:
            yield running, nats
        finally:
            running.stop()


def one_trace(receiver: OtlpReceiver, trace_id: str) -> list[ReceivedSpan]:
    """The trace's spans once the meter's span is in (the last to come: after the publish)."""

    def metered(spans: list[ReceivedSpan]) -> bool:
        return any(s.trace_id == trace_id and s.kind == "consumer" for s in spans)

    return [s for s in receiver.wait_for(metered, timeout=30) if s.trace_id == trace_id]


def assert_one_trace_across_the_platform(spans: list[ReceivedSpan], nats: NatsServer, caller: str) -> None:
    """The spans of one code page, from `caller`'s client spans down to the meter's SQL."""
    by_id = {s.span_id: s for s in spans}

    def parent(span: ReceivedSpan) -> ReceivedSpan:
        assert span.parent_id in by_id, f"{span.service} {span.name}: its parent is not in the trace"
        return by_id[span.parent_id]

    def ancestors(span: ReceivedSpan) -> Iterator[ReceivedSpan]:
        while span.parent_id in by_id:
            span = by_id[span.parent_id]
            yield span

    def only(service: str, kind: str, name: str) -> ReceivedSpan:
        found = [s for s in spans if (s.service, s.kind, s.name) == (service, kind, name)]
        assert len(found) == 1, f"{len(found)} {kind} spans {name!r} of {service}"
        return found[0]

    # Each gRPC call: the caller's CLIENT span is the parent of the service's SERVER span.
    for service, method in (("medcode-lookup", GET_CODE), ("medcode-accounts", AUTHORIZE_VIEW)):
        server = only(service, "server", method)
        client = parent(server)
        assert (client.service, client.kind, client.name) == (caller, "client", method)
        assert server.attributes["rpc.grpc.status_code"] == 0
        sql = [s for s in spans if s.parent_id == server.span_id and s.kind == "client"]
        assert sql, f"no SQL spans under {method}"
        assert all(s.service == service and "db.system" in s.attributes for s in sql)

    # The grant's event: published by the relay as a child of the request that wrote the outbox row.
    publish = only("medcode-accounts", "producer", f"send {PAGE_VIEWED}")
    authorize = only("medcode-accounts", "server", AUTHORIZE_VIEW)
    assert authorize in ancestors(publish)
    process = only("medcode-accounts", "consumer", f"process {PAGE_VIEWED}")
    assert parent(process) == publish

    # The messaging semantic conventions on both ends.
    for span, operation_type, operation_name in ((publish, "send", "send"), (process, "process", "process")):
        attributes = span.attributes
        assert attributes["messaging.system"] == "nats"
        assert attributes["messaging.destination.name"] == PAGE_VIEWED
        assert attributes["messaging.operation.type"] == operation_type
        assert attributes["messaging.operation.name"] == operation_name
        assert span.name == f"{operation_name} {PAGE_VIEWED}"
        assert attributes["server.address"] == "127.0.0.1" and attributes["server.port"] == nats.port
        assert attributes["messaging.message.body.size"] > 0
    assert len(publish.attributes["messaging.message.id"]) == 36  # the event id, a UUID
    assert publish.attributes["messaging.message.id"] == process.attributes["messaging.message.id"]
    assert process.attributes["messaging.consumer.group.name"] == "meter"
    # The meter's own transaction is part of the trace too.
    assert any(s.parent_id == process.span_id and "db.system" in s.attributes for s in spans)
    assert all(s.status_code != 2 for s in spans), [s.name for s in spans if s.status_code == 2]


async def test_a_code_page_opened_over_grpc_is_one_trace_down_to_the_meter(platform, receiver):
    running, nats = platform
    provider = TracerProvider(resource=Resource.create({"service.name": "medcode-e2e-client"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True))
    )
    tracer = provider.get_tracer("tests.e2e")
    interceptors = client_interceptors(tracer_provider=provider)

    async def open_code_page() -> str:
        async with (
            grpc.aio.insecure_channel(running.lookup_addr, interceptors=interceptors) as to_lookup,
            grpc.aio.insecure_channel(running.accounts_addr, interceptors=interceptors) as to_accounts,
        ):
            lookup = lookup_pb2_grpc.LookupServiceStub(to_lookup)
            accounts = accounts_pb2_grpc.AccountsServiceStub(to_accounts)
            with tracer.start_as_current_span("GET /v1/codes/{system}/{code}", kind=SpanKind.SERVER) as page:
                guest = await accounts.CreateGuest(accounts_pb2.CreateGuestRequest(client_address=ADDRESS))
                code = await lookup.GetCode(
                    lookup_pb2.GetCodeRequest(system=lookup_pb2.CODE_SYSTEM_ICD10CM, code="I10")
                )
                grant = await accounts.AuthorizeView(
                    accounts_pb2.AuthorizeViewRequest(
                        token=guest.guest_token,
                        system=lookup_pb2.CODE_SYSTEM_ICD10CM,
                        code=code.code.code,
                        request_id=str(uuid.uuid4()),
                        client_address=ADDRESS,
                    )
                )
                assert grant.allowed
            return format(page.get_span_context().trace_id, "032x")

    trace_id = await open_code_page()
    provider.shutdown()

    spans = one_trace(receiver, trace_id)

    assert {s.service for s in spans} == {"medcode-e2e-client", "medcode-lookup", "medcode-accounts"}
    (root,) = [s for s in spans if not s.parent_id]
    assert (root.service, root.kind) == ("medcode-e2e-client", "server")
    assert only_client_calls(spans, "medcode-e2e-client") == sorted([CREATE_GUEST, GET_CODE, AUTHORIZE_VIEW])
    assert_one_trace_across_the_platform(spans, nats, caller="medcode-e2e-client")


def only_client_calls(spans: list[ReceivedSpan], service: str) -> list[str]:
    return sorted(s.name for s in spans if s.service == service and s.kind == "client")
