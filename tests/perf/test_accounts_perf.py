"""AuthorizeView speed, as ratios against a bare gRPC call measured in the same run (make bench).

The accounts service runs as `python -m services.accounts` with its relay and meter on a real
nats-server, over SQLite and over PostgreSQL (MEDCODE_TEST_POSTGRES_URL; skipped with a message
when unreachable). Every call is a new grant (a fresh code and request id for one of 32 `pro`
accounts): the full write path — idempotency row, grant, counter, outbox event — in one
transaction. The baseline is the same method on a bare asyncio gRPC server that answers a fixed
response (run as `python -m tests.perf.test_accounts_perf bare`). Callers share one channel, as a
gateway does; ours and the baseline alternate (ABAB) so that noise hits both.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc
import pytest
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.accounts.v1 import accounts_pb2_grpc

from tests.support.accounts_server import (
    ICD10CM,
    OPERATOR,
    PASSWORD,
    postgres_schema,
    postgres_unreachable,
    start_process,
    wait_serving,
)
from tests.support.nats_server import NatsServer

pytestmark = pytest.mark.perf
ROOT = Path(__file__).resolve().parents[2]
CALLS = 1_500
ACCOUNTS = 32
ROUNDS = 2
CONCURRENCY = (1, 8, 32)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def drive(
    address: str, requests: list[pb.AuthorizeViewRequest], concurrency: int
) -> tuple[float, list[float]]:
    """Calls/s and per-call latencies (ms) for `requests` sent by `concurrency` callers on one channel."""
    async with grpc.aio.insecure_channel(address) as channel:
        call = accounts_pb2_grpc.AccountsServiceStub(channel).AuthorizeView
        queue = list(reversed(requests))
        latencies: list[float] = []

        async def caller() -> None:
            while queue:
                request = queue.pop()
                started = time.perf_counter()
                answer = await call(request, timeout=60)
                latencies.append((time.perf_counter() - started) * 1000)
                assert answer.allowed

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        return len(requests) / (time.perf_counter() - started), latencies


def new_views(tokens: list[str], n: int) -> list[pb.AuthorizeViewRequest]:
    batch = uuid.uuid4().hex[:6].upper()
    return [
        pb.AuthorizeViewRequest(
            token=tokens[i % len(tokens)],
            system=ICD10CM,
            code=f"B{batch}{i}",
            request_id=str(uuid.uuid4()),
            client_address="192.0.2.1",
        )
        for i in range(n)
    ]


async def pro_accounts(address: str) -> list[str]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = accounts_pb2_grpc.AccountsServiceStub(channel)
        tokens = []
        for i in range(ACCOUNTS):
            registered = await stub.Register(
                pb.RegisterRequest(email=f"bench-{i}@example.org", password=PASSWORD)
            )
            await stub.ChangePlan(
                pb.ChangePlanRequest(account_id=registered.account.id, plan="pro"), metadata=OPERATOR
            )
            tokens.append(registered.session_token)
        return tokens


@pytest.fixture(scope="module")
def nats(tmp_path_factory):
    with NatsServer(tmp_path_factory.mktemp("nats") / "store") as server:
        yield server


@pytest.fixture(scope="module")
def bare_address():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.perf.test_accounts_perf", "bare"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    yield f"127.0.0.1:{int(process.stdout.readline())}"
    process.terminate()
    process.wait(10)


@pytest.fixture(params=["sqlite", "postgres"])
def accounts_address(request, tmp_path, nats):
    def serve(url: str):
        process, address = start_process(url, {"NATS_URL": nats.url, "MEDCODE_LOG_LEVEL": "WARNING"})
        try:
            wait_serving(address, process)
            yield request.param, address
        finally:
            process.terminate()
            process.wait(30)

    if request.param == "sqlite":
        yield from serve(f"sqlite:///{tmp_path}/accounts.db")
        return
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    with postgres_schema() as url:
        yield from serve(url)


async def test_authorize_view_throughput_and_p99_against_a_bare_call(accounts_address, bare_address):
    database, address = accounts_address
    tokens = await pro_accounts(address)
    await drive(address, new_views(tokens, 100), 8)  # warm-up: connections, statements, pages
    await drive(bare_address, new_views(tokens, 100), 8)
    rows = []
    for concurrency in CONCURRENCY:
        ours_rate, bare_rate, ours_lat, bare_lat = [], [], [], []
        for _ in range(ROUNDS):
            rate, latencies = await drive(address, new_views(tokens, CALLS), concurrency)
            ours_rate.append(rate)
            ours_lat += latencies
            rate, latencies = await drive(bare_address, new_views(tokens, CALLS), concurrency)
            bare_rate.append(rate)
            bare_lat += latencies
        rows.append(
            (
                concurrency,
                statistics.median(ours_rate),
                statistics.median(bare_rate),
                pct(ours_lat, 99),
                pct(bare_lat, 99),
            )
        )
    print(
        f"\nAuthorizeView (new grants) on {database}, against a bare gRPC call, {CALLS} calls x {ROUNDS} rounds"
    )
    print(
        "  callers  accounts calls/s  bare calls/s  throughput ratio  accounts p99 ms  bare p99 ms  p99 ratio"
    )
    for concurrency, ours, bare, ours_p99, bare_p99 in rows:
        print(
            f"  {concurrency:>7}  {ours:>16.0f}  {bare:>12.0f}  {ours / bare:>16.3f}  "
            f"{ours_p99:>15.2f}  {bare_p99:>11.2f}  {ours_p99 / bare_p99:>9.1f}"
        )
    assert all(ours > 0 for _, ours, *_ in rows)


async def serve_bare() -> None:
    """AuthorizeView answered with a fixed response: gRPC, protobuf and the loop, nothing else."""
    answer = pb.AuthorizeViewResponse(
        allowed=True, remaining=0, reason=pb.VIEW_REASON_GRANTED, unlimited=True, plan="pro"
    )

    async def authorize_view(request, context):
        return answer

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "medcode.accounts.v1.AccountsService",
                {
                    "AuthorizeView": grpc.unary_unary_rpc_method_handler(
                        authorize_view,
                        request_deserializer=pb.AuthorizeViewRequest.FromString,
                        response_serializer=pb.AuthorizeViewResponse.SerializeToString,
                    )
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


if __name__ == "__main__" and sys.argv[1:] == ["bare"]:
    asyncio.run(serve_bare())
