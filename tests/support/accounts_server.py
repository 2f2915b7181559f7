"""The accounts service for tests: a real server on a socket over a real SQLite file or PostgreSQL schema."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import grpc
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.accounts.v1 import accounts_pb2_grpc
from medcode.lookup.v1 import lookup_pb2
from sqlalchemy import Engine, text

from services.accounts.settings import AccountsSettings
from services.common.db import create_db_engine
from services.common.grpc_server import RunningServer
from tests.support import postgres
from tests.support.postgres import POSTGRES_URL, postgres_unreachable  # noqa: F401 - the accounts tests' import
from tests.support.processes import free_port, wait_serving  # noqa: F401 - the process tests' import

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_TOKEN = "test-operator-token-0123456789abcdef0123456789"
OPERATOR = (("authorization", f"Bearer {OPERATOR_TOKEN}"),)
ICD10CM = lookup_pb2.CODE_SYSTEM_ICD10CM
# A documentation address (RFC 5737), so that no test looks like a real client.
ADDRESS = "192.0.2.10"
PASSWORD = "amber tulip harbour 42"


def settings(**overrides) -> AccountsSettings:
    """The defaults of production, with an operator token and room for bursts of test calls."""
    base = AccountsSettings(operator_token=OPERATOR_TOKEN, login_failures_per_address=1_000)
    return replace(base, **overrides)


def postgres_schema() -> AbstractContextManager[str]:
    """A URL whose connections work in a fresh schema of their own (`medcode_accounts_…`), dropped afterwards."""
    return postgres.postgres_schema("medcode_accounts")


class Clock:
    """The service's clock in tests that need time to pass without waiting for it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Harness:
    running: RunningServer
    stub: accounts_pb2_grpc.AccountsServiceStub
    engine: Engine

    async def guest(self, address: str = ADDRESS) -> str:
        return (await self.stub.CreateGuest(pb.CreateGuestRequest(client_address=address))).guest_token

    async def account(self, email: str | None = None, password: str = PASSWORD) -> pb.RegisterResponse:
        email = email or f"coder-{uuid.uuid4().hex[:8]}@example.org"
        return await self.stub.Register(pb.RegisterRequest(email=email, password=password))

    async def view(self, token: str, code: str, request_id: str | None = None, address: str = ADDRESS):
        return await self.stub.AuthorizeView(
            pb.AuthorizeViewRequest(
                token=token,
                system=ICD10CM,
                code=code,
                request_id=request_id or str(uuid.uuid4()),
                client_address=address,
            )
        )

    def count(self, sql: str, **params) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()


@asynccontextmanager
async def running_accounts(
    url: str, accounts_settings: AccountsSettings | None = None, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[Harness]:
    """The accounts service (no NATS: events wait in the outbox) on a free port of 127.0.0.1."""
    from services.accounts.bootstrap import start_accounts

    engine = create_db_engine(url)
    extra = {"clock": clock} if clock else {}
    running = await start_accounts(engine, "127.0.0.1:0", accounts_settings or settings(), **extra)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            yield Harness(running, accounts_pb2_grpc.AccountsServiceStub(channel), engine)
    finally:
        await running.stop(grace=1)
        engine.dispose()


def start_process(url: str, env_overrides: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`python -m services.accounts` as an operator runs it; NATS points at a port nobody listens on."""
    address = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "MEDCODE_ACCOUNTS_DATABASE_URL": url,
        "MEDCODE_ACCOUNTS_ADDR": address,
        "MEDCODE_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",
        **(env_overrides or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.accounts"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    return process, address
