"""`make traces` (scripts/traces.py) prints the spool's latest traces as trees an operator can follow."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import grpc
from medcode.lookup.v1 import lookup_pb2, lookup_pb2_grpc
from opentelemetry import propagate
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.common.trace_spool import SpoolExporter
from tests.support.accounts_server import free_port, wait_serving

ROOT = Path(__file__).resolve().parents[2]


def traces_command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/traces.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def service(directory: Path, name: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(SimpleSpanProcessor(SpoolExporter(directory, name)))
    return provider


def write_one_request(directory: Path) -> str:
    """A code page's spans from two processes, as they would spool them; returns the trace id."""
    gateway, accounts = service(directory, "medcode-gateway"), service(directory, "medcode-accounts")
    http, rpc = gateway.get_tracer("http"), accounts.get_tracer("rpc")
    with http.start_as_current_span("GET /v1/codes/{system}/{code}", kind=SpanKind.SERVER) as page:
        with http.start_as_current_span(
            "/medcode.accounts.v1.AccountsService/AuthorizeView", kind=SpanKind.CLIENT
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)  # what the gRPC metadata carries to the accounts process
            with rpc.start_as_current_span(
                "/medcode.accounts.v1.AccountsService/AuthorizeView",
                context=propagate.extract(carrier),
                kind=SpanKind.SERVER,
            ):
                with rpc.start_as_current_span("INSERT accounts", kind=SpanKind.CLIENT):
                    pass
                with rpc.start_as_current_span("send medcode.meter.page_viewed.v1", kind=SpanKind.PRODUCER):
                    with rpc.start_as_current_span(
                        "process medcode.meter.page_viewed.v1", kind=SpanKind.CONSUMER
                    ) as process:
                        process.set_status(Status(StatusCode.ERROR, "dead-lettered"))
    gateway.shutdown()
    accounts.shutdown()
    return format(page.get_span_context().trace_id, "032x")


def test_one_request_across_two_processes_prints_as_one_tree(tmp_path):
    trace_id = write_one_request(tmp_path)

    result = traces_command("--dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    heading, *rows = result.stdout.splitlines()
    assert heading.startswith(f"trace {trace_id}  ")
    assert "6 spans  2 services (medcode-accounts, medcode-gateway)  1 error" in heading
    tree = [re.split(r"\s{2,}", row.strip()) for row in rows]
    assert [(cells[0], cells[1]) for cells in tree] == [
        ("GET /v1/codes/{system}/{code} (server)", "medcode-gateway"),
        ("└─ /medcode.accounts.v1.AccountsService/AuthorizeView (client)", "medcode-gateway"),
        ("└─ /medcode.accounts.v1.AccountsService/AuthorizeView (server)", "medcode-accounts"),
        ("├─ INSERT accounts (client)", "medcode-accounts"),
        ("└─ send medcode.meter.page_viewed.v1 (producer)", "medcode-accounts"),
        ("└─ process medcode.meter.page_viewed.v1 (consumer)", "medcode-accounts"),
    ]
    # Indentation nests each span under its parent.
    assert rows[2].index("└─") > rows[1].index("└─") and rows[5].index("└─") > rows[4].index("└─")
    assert all(re.search(r"\+\d+\.\d ms\s+\d+\.\d ms", row) for row in rows)
    assert tree[-1][-1] == "ERROR dead-lettered" and tree[0][-1] == "ok"


def test_the_latest_traces_come_last_and_filters_pick_one(tmp_path):
    first, second, third = (write_one_request(tmp_path) for _ in range(3))

    latest_two = traces_command("--dir", str(tmp_path), "--limit", "2").stdout
    one = traces_command("--dir", str(tmp_path), "--trace", first[:10]).stdout
    nobody = traces_command("--dir", str(tmp_path), "--service", "medcode-assistant")

    headings = [line.split()[1] for line in latest_two.splitlines() if line.startswith("trace ")]
    assert headings == [second, third]
    assert [line.split()[1] for line in one.splitlines() if line.startswith("trace ")] == [first]
    assert nobody.returncode == 1 and "no traces" in nobody.stdout


def test_without_a_spool_the_command_says_how_to_get_one(tmp_path):
    result = traces_command(env={"MEDCODE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "make run" in result.stderr and str(tmp_path / "traces") in result.stderr


def test_a_real_lookup_call_spooled_by_the_service_prints_with_its_sql(catalog_engine, tmp_path):
    address = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "MEDCODE_LOOKUP_DATABASE_URL": catalog_engine.url.render_as_string(hide_password=False),
        "MEDCODE_LOOKUP_ADDR": address,
        "MEDCODE_DATA_DIR": str(tmp_path),
        "MEDCODE_TRACE_SPOOL": "1",
    }
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "services.lookup"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_serving(address, process)
        with grpc.insecure_channel(address) as channel:
            lookup_pb2_grpc.LookupServiceStub(channel).GetCode(
                lookup_pb2.GetCodeRequest(system=lookup_pb2.CODE_SYSTEM_ICD10CM, code="E11.9"), timeout=10
            )
        process.send_signal(signal.SIGTERM)  # the service flushes its spans as it stops
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    result = traces_command("--service", "medcode-lookup", env={"MEDCODE_DATA_DIR": str(tmp_path)})

    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    (call,) = [row for row in rows if "/medcode.lookup.v1.LookupService/GetCode (server)" in row]
    assert "medcode-lookup" in call and call.rstrip().endswith("ok")
    below = rows[rows.index(call) + 1 :]
    assert any(re.match(r"\s+[├└]─ SELECT .*\(client\)", row) for row in below), result.stdout
