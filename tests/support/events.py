"""What the event tests share: a migrated accounts database, events to write, and waiting for effects.

The fixtures `nats_server`, `engine` and `js` are taken by a test module with
`from tests.support.events import engine as engine` (the alias says the import is meant for pytest).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import nats
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from medcode.events.v1 import events_pb2
from nats.js import JetStreamContext
from sqlalchemy import Engine, func, select

from services.accounts import tables
from services.accounts.migrate import upgrade_to_head
from services.common import event_names
from services.common.db import create_db_engine
from services.common.outbox import add_event
from tests.support import postgres
from tests.support.nats_server import NatsServer
from tests.support.postgres import POSTGRES_URL, postgres_unreachable  # noqa: F401 - the event tests' import


def sqlite_accounts(path) -> Engine:
    """An accounts database in a SQLite file, migrated to the newest schema."""
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    return engine


@pytest.fixture
def nats_server(tmp_path) -> Iterator[NatsServer]:
    """A real nats-server with JetStream, its store in the test's own folder."""
    with NatsServer(tmp_path / "jetstream") as server:
        yield server


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """The accounts database in the test's own SQLite file, migrated."""
    engine = sqlite_accounts(tmp_path / "accounts.db")
    yield engine
    engine.dispose()


@pytest_asyncio.fixture
async def js(nats_server) -> AsyncIterator[JetStreamContext]:
    """A JetStream context on `nats_server`; no stream is declared, that is the test's to do."""
    client = await nats.connect(nats_server.url)
    yield client.jetstream()
    await client.close()


@contextmanager
def postgres_schema() -> Iterator[str]:
    """The URL of a fresh schema of its own on the test PostgreSQL, migrated; dropped afterwards."""
    with postgres.postgres_schema("medcode_events") as url:
        engine = create_db_engine(url)
        try:
            upgrade_to_head(engine)
        finally:
            engine.dispose()
        yield url


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def page_viewed(
    principal_id: str, *, kind: str = "account", code: str = "E11.9", at: datetime | None = None
) -> events_pb2.PageViewed:
    """A PageViewed as the accounts service writes it (its own fresh event id)."""
    moment = at or datetime.now(UTC)
    return events_pb2.PageViewed(
        event_id=str(uuid.uuid4()),
        occurred_at=timestamp(moment),
        principal_kind=events_pb2.PRINCIPAL_KIND_GUEST
        if kind == "guest"
        else events_pb2.PRINCIPAL_KIND_ACCOUNT,
        principal_id=principal_id,
        plan="guest" if kind == "guest" else "free",
        system="icd10cm",
        code=code,
        request_id=str(uuid.uuid4()),
        period_start=timestamp(moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)),
    )


def registered(account_id: str, at: datetime | None = None) -> events_pb2.AccountRegistered:
    return events_pb2.AccountRegistered(
        event_id=str(uuid.uuid4()),
        occurred_at=timestamp(at or datetime.now(UTC)),
        account_id=account_id,
        plan="free",
    )


def write_page_view(engine: Engine, principal_id: str, **options) -> str:
    """Commit one page view to the outbox in its own transaction, as a grant would; its event id."""
    event = page_viewed(principal_id, **options)
    with engine.begin() as conn:
        add_event(conn, tables.outbox, event_names.PAGE_VIEWED, event, event.event_id)
    return event.event_id


def usage_totals(engine: Engine) -> dict[str, int]:
    """The meter's totals over every day and principal, and how many event ids it has applied."""
    usage = tables.meter_usage.c
    with engine.connect() as conn:
        page_views, registrations = conn.execute(
            select(
                func.coalesce(func.sum(usage.page_views), 0), func.coalesce(func.sum(usage.registrations), 0)
            )
        ).one()
        applied = conn.execute(select(func.count()).select_from(tables.meter_applied_events)).scalar_one()
    return {"page_views": page_views, "registrations": registrations, "applied": applied}


def unpublished(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(tables.outbox.c.published_at.is_(None))).scalar_one()


async def eventually(check: Callable[[], bool], within: float = 20.0, what: str = "the condition") -> None:
    """Wait until `check()` holds (it reads real state: the database, a stream), or fail saying what."""
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        await asyncio.sleep(0.05)
