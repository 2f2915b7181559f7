"""Fixtures shared by every tier: the built catalog and a real lookup server on a socket."""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from medcode.lookup.v1 import lookup_pb2_grpc

from services.common.db import create_db_engine


@pytest.fixture(scope="session")
def catalog_engine(tmp_path_factory):
    """The full shipped catalog, built once per test session (or the one MEDCODE_TEST_CATALOG_URL names)."""
    from services.lookup.catalog import ensure_built

    url = os.environ.get("MEDCODE_TEST_CATALOG_URL")
    if not url:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('catalog')) / 'lookup.db'}"
    engine = create_db_engine(url)
    ensure_built(engine)
    yield engine
    engine.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def lookup_server(catalog_engine):
    """The lookup service over the built catalog, on a free port of 127.0.0.1."""
    from services.lookup.bootstrap import start_lookup

    running = await start_lookup(catalog_engine, "127.0.0.1:0")
    yield running
    await running.stop(grace=1)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def lookup_channel(lookup_server):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{lookup_server.port}") as channel:
        yield channel


@pytest.fixture
def lookup(lookup_channel):
    return lookup_pb2_grpc.LookupServiceStub(lookup_channel)
