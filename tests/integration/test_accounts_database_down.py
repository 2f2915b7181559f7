"""A database that does not answer makes calls UNAVAILABLE with a reason, not INTERNAL."""

from __future__ import annotations

import grpc
import pytest
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.accounts.v1 import accounts_pb2_grpc

from services.accounts.server import SERVICE_NAME, AccountsServicer, build_handler
from services.accounts.use_cases import Accounts
from services.common.db import create_db_engine
from services.common.errors import error_info
from services.common.grpc_server import start_server
from tests.support.accounts_server import ADDRESS, free_port, settings


async def test_calls_are_unavailable_while_the_database_is_unreachable():
    engine = create_db_engine(f"postgresql://nobody@127.0.0.1:{free_port()}/accounts")
    accounts = Accounts(engine, settings())
    running = await start_server(
        "127.0.0.1:0",
        lambda server: None,
        [SERVICE_NAME],
        generic_handlers=[build_handler(AccountsServicer(accounts))],
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await accounts_pb2_grpc.AccountsServiceStub(channel).CreateGuest(
                    pb.CreateGuestRequest(client_address=ADDRESS)
                )
    finally:
        await running.stop(grace=1)
        accounts.close()
        engine.dispose()

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(raised.value).reason == "DATABASE_UNAVAILABLE"
    assert "try again" in raised.value.details() and "nobody" not in raised.value.details()
