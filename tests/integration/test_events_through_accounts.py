"""The whole path through the accounts service: grants and registrations over gRPC reach GetUsage.

The service runs with its relay and meter on a real nats-server, which is stopped before a burst
of grants and started after it: the RPCs answer as fast as before and every event is counted once.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.accounts.v1 import accounts_pb2_grpc

from services.accounts.bootstrap import start_accounts
from tests.support.accounts_server import ADDRESS, ICD10CM, OPERATOR, PASSWORD, settings
from tests.support.events import engine as engine
from tests.support.events import nats_server as nats_server


async def register_and_view(stub, codes: list[str]) -> float:
    """Register an account and open `codes`; the slowest AuthorizeView, in seconds."""
    email = f"coder-{uuid.uuid4().hex[:8]}@example.org"
    session = (await stub.Register(pb.RegisterRequest(email=email, password=PASSWORD))).session_token
    slowest = 0.0
    for code in codes:
        started = time.perf_counter()
        answer = await stub.AuthorizeView(
            pb.AuthorizeViewRequest(
                token=session, system=ICD10CM, code=code, request_id=str(uuid.uuid4()), client_address=ADDRESS
            )
        )
        slowest = max(slowest, time.perf_counter() - started)
        assert answer.allowed
    return slowest


async def test_grants_and_registrations_reach_get_usage_once_even_across_a_nats_outage(engine, nats_server):
    running = await start_accounts(engine, "127.0.0.1:0", settings(), nats_url=nats_server.url)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = accounts_pb2_grpc.AccountsServiceStub(channel)

            async def totals() -> pb.UsageTotals:
                return (await stub.GetUsage(pb.GetUsageRequest(), metadata=OPERATOR)).totals

            # Re-opening E11.9 is free: five views, one registration.
            await register_and_view(stub, ["E11.9", "I10", "E11.9", "J45.909", "N18.30", "R51.9"])
            await eventually_totals(totals, page_views=5, registrations=1)

            nats_server.stop()
            slowest = max([await register_and_view(stub, ["E11.9", "I10"]) for _ in range(3)])
            nats_server.start()
            await eventually_totals(totals, page_views=11, registrations=4)
            await asyncio.sleep(1.5)  # a late duplicate, if any, would be counted by now
            assert ((await totals()).page_views, (await totals()).registrations) == (11, 4)
    finally:
        await running.stop(grace=1)
    # An RPC that waited for NATS would take the relay's or the client's timeout (seconds).
    assert slowest < 0.5


async def eventually_totals(totals, page_views: int, registrations: int) -> None:
    """Wait until GetUsage's totals are these (the meter runs behind the RPCs), or fail saying what they were."""
    deadline = time.monotonic() + 30
    while True:
        current = await totals()
        if (current.page_views, current.registrations) == (page_views, registrations):
            return
        assert time.monotonic() < deadline, (
            f"usage stayed at {current}, expected {page_views}, {registrations}"
        )
        await asyncio.sleep(0.1)
