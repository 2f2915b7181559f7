"""Two accounts-service processes on one database: the quota holds across replicas.

Both processes start together on an empty database (so their migrations race too), then 50
concurrent AuthorizeView calls for distinct codes are spread over both. PostgreSQL is the
deployment this is for; the same test on one SQLite file shows its write lock does the same.
"""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.accounts.v1 import accounts_pb2_grpc
from sqlalchemy import text

from services.common.db import create_db_engine
from tests.support.accounts_server import (
    ADDRESS,
    ICD10CM,
    PASSWORD,
    postgres_schema,
    postgres_unreachable,
    start_process,
    wait_serving,
)


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/accounts.db"
        return
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    with postgres_schema() as url:
        yield url


@pytest.fixture
def replicas(database_url):
    started = [start_process(database_url) for _ in range(2)]
    try:
        for process, address in started:
            wait_serving(address, process)
        yield [address for _, address in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(20)
            except Exception:
                process.kill()


async def views_across(addresses: list[str], token: str, n: int) -> list[pb.AuthorizeViewResponse]:
    channels = [grpc.aio.insecure_channel(address) for address in addresses]
    stubs = [accounts_pb2_grpc.AccountsServiceStub(channel) for channel in channels]
    try:
        return await asyncio.gather(
            *(
                stubs[i % len(stubs)].AuthorizeView(
                    pb.AuthorizeViewRequest(
                        token=token,
                        system=ICD10CM,
                        code=f"T{14 + i // 10}.{i % 10}",
                        request_id=str(uuid.uuid4()),
                        client_address=ADDRESS,
                    ),
                    timeout=60,
                )
                for i in range(n)
            )
        )
    finally:
        for channel in channels:
            await channel.close()


async def test_two_replicas_give_a_guest_one_view_and_a_free_account_five(replicas, database_url):
    async with grpc.aio.insecure_channel(replicas[0]) as channel:
        stub = accounts_pb2_grpc.AccountsServiceStub(channel)
        guest = (await stub.CreateGuest(pb.CreateGuestRequest(client_address=ADDRESS))).guest_token
        account = await stub.Register(pb.RegisterRequest(email="replicas@example.org", password=PASSWORD))

    guest_answers = await views_across(replicas, guest, 50)
    account_answers = await views_across(replicas, account.session_token, 50)

    assert sum(a.allowed for a in guest_answers) == 1
    assert sum(a.allowed for a in account_answers) == 5
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            grants = conn.execute(text("select count(*) from view_grants")).scalar_one()
            events = conn.execute(
                text("select count(*) from outbox where subject = 'medcode.meter.page_viewed.v1'")
            ).scalar_one()
            counters = conn.execute(text("select sum(used) from view_counters")).scalar_one()
    finally:
        engine.dispose()
    assert grants == events == counters == 6
