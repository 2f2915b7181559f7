"""One request is one trace: its spans, collected by a real OTLP receiver, cross every process it touches.

The gateway, lookup and accounts run as operators run them, each with OTEL_EXPORTER_OTLP_ENDPOINT
pointing at the receiver, beside a real nats-server. A code page is opened over HTTP (the gateway
mints a guest, reads the code from lookup, asks accounts for the view); the grant's event goes
through the outbox, the relay's publish and the meter. Every span of all of that must share the
request's trace id, nest under the right parent, and the NATS spans must carry the messaging
semantic conventions. The same holds for an internal caller of the services over gRPC.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
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
    """The gateway, lookup and accounts (with its relay and meter) as processes, exporting to one receiver."""

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
        self.gateway_url = f"http://127.0.0.1:{free_port()}"
        self.gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway"],
            env={
                **env,
                "MEDCODE_HTTP_ADDR": self.gateway_url.removeprefix("http://"),
                "MEDCODE_LOOKUP_ADDR": self.lookup_addr,
                "MEDCODE_ACCOUNTS_ADDR": self.accounts_addr,
            },
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for address, process in ((self.lookup_addr, self.lookup), (self.accounts_addr, self.accounts)):
                wait_serving(address, process)
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gateway.poll() is not None:
                raise AssertionError(
                    f"the gateway exited with {self.gateway.returncode}: {self.gateway.stderr.read()}"
                )
            try:
                if httpx.get(f"{self.gateway_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the gateway was not ready within {timeout} s")

    def stop(self) -> None:
        for process in (self.gateway, self.accounts, self.lookup):
            stop(process)


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def nats(tmp_path_factory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("jetstream")) as server:
        yield server


@pytest.fixture(scope="module")
def platform(receiver, nats, catalog_engine, tmp_path_factory) -> Iterator[Platform]:
    running = Platform(
        receiver,
        nats,
        catalog_engine.url.render_as_string(hide_password=False),
        tmp_path_factory.mktemp("platform"),
    )
    try:
        yield running
    finally:
        running.stop()


def one_trace(
    receiver: OtlpReceiver, trace_id: str, services: set[str], root_parent: str = ""
) -> list[ReceivedSpan]:
    """The trace's spans once its root, the meter's span and a span of each of `services` are in,
    and every span's parent has arrived.

    Processes export on their own schedule: the meter's span may come before the gateway's, and a
    busy lookup's after both.
    """

    def complete(spans: list[ReceivedSpan]) -> bool:
        mine = [s for s in spans if s.trace_id == trace_id]
        ids = {s.span_id for s in mine}
        return (
            any(s.kind == "consumer" for s in mine)
            and any(s.parent_id == root_parent for s in mine)
            and services <= {s.service for s in mine}
            and all(s.parent_id in ids or s.parent_id == root_parent for s in mine)
        )

    return [s for s in receiver.wait_for(complete, timeout=30) if s.trace_id == trace_id]


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


def test_a_code_page_opened_over_http_is_one_trace_from_the_gateway_to_the_meter(platform, receiver, nats):
    # The caller's own trace context, as a browser's or a proxy's instrumentation would send it.
    trace_id, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]

    page = httpx.get(
        f"{platform.gateway_url}/v1/codes/icd10cm/I10",
        headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
        timeout=10,
    )

    assert page.status_code == 200, page.text
    expected = {"medcode-gateway", "medcode-lookup", "medcode-accounts"}
    spans = one_trace(receiver, trace_id, expected, root_parent=caller_span)
    assert {s.service for s in spans} == expected
    (request,) = [s for s in spans if s.parent_id == caller_span]
    assert (request.service, request.kind) == ("medcode-gateway", "server")
    assert request.attributes["http.route"] == "/v1/codes/{system}/{code}"
    assert request.name == "GET /v1/codes/{system}/{code}"
    # Every gRPC call the gateway made is a CLIENT span under its request span.
    calls = [s for s in spans if s.service == "medcode-gateway" and s.kind == "client"]
    assert {GET_CODE, AUTHORIZE_VIEW} <= {s.name for s in calls}
    assert all(request.span_id in {a.span_id for a in ancestors_of(s, spans)} for s in calls)
    assert_one_trace_across_the_platform(spans, nats, caller="medcode-gateway")


async def test_a_code_page_opened_over_grpc_is_one_trace_down_to_the_meter(platform, receiver, nats):
    provider = TracerProvider(resource=Resource.create({"service.name": "medcode-e2e-client"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True))
    )
    tracer = provider.get_tracer("tests.e2e")
    interceptors = client_interceptors(tracer_provider=provider)

    async with (
        grpc.aio.insecure_channel(platform.lookup_addr, interceptors=interceptors) as to_lookup,
        grpc.aio.insecure_channel(platform.accounts_addr, interceptors=interceptors) as to_accounts,
    ):
        lookup = lookup_pb2_grpc.LookupServiceStub(to_lookup)
        accounts = accounts_pb2_grpc.AccountsServiceStub(to_accounts)
        with tracer.start_as_current_span("open a code page", kind=SpanKind.SERVER) as page:
            guest = await accounts.CreateGuest(accounts_pb2.CreateGuestRequest(client_address=ADDRESS))
            code = await lookup.GetCode(
                lookup_pb2.GetCodeRequest(system=lookup_pb2.CODE_SYSTEM_ICD10CM, code="E11.9")
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
    provider.shutdown()

    expected = {"medcode-e2e-client", "medcode-lookup", "medcode-accounts"}
    spans = one_trace(receiver, format(page.get_span_context().trace_id, "032x"), expected)

    assert {s.service for s in spans} == expected
    (root,) = [s for s in spans if not s.parent_id]
    assert (root.service, root.kind, root.name) == ("medcode-e2e-client", "server", "open a code page")
    client_calls = sorted(s.name for s in spans if s.service == "medcode-e2e-client" and s.kind == "client")
    assert client_calls == sorted([CREATE_GUEST, GET_CODE, AUTHORIZE_VIEW])
    assert_one_trace_across_the_platform(spans, nats, caller="medcode-e2e-client")


def ancestors_of(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    by_id = {s.span_id: s for s in spans}
    found = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        found.append(span)
    return found
