"""The same LookupService tests with the catalog in PostgreSQL (MEDCODE_TEST_POSTGRES_URL).

The catalog is built into a schema of its own, dropped afterwards; the tests are those of
test_lookup_rpcs, run against a server whose repository reads PostgreSQL.
"""

from __future__ import annotations

import grpc
import pytest
import pytest_asyncio
from medcode.lookup.v1 import lookup_pb2_grpc
from sqlalchemy import text

from services.common.db import create_db_engine
from tests.integration.test_lookup_rpcs import *  # noqa: F403 - the same specification, another database
from tests.support.postgres import POSTGRES_URL, postgres_schema, require_postgres  # noqa: F401 - POSTGRES_URL kept importable


@pytest.fixture(scope="module")
def postgres_catalog():
    require_postgres()
    from services.lookup.catalog import ensure_built

    with postgres_schema("medcode_test") as url:
        engine = create_db_engine(url)
        try:
            ensure_built(engine)
            yield engine
        finally:
            engine.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def lookup_channel(postgres_catalog):
    from services.lookup.bootstrap import start_lookup

    running = await start_lookup(postgres_catalog, "127.0.0.1:0")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield channel
    await running.stop(grace=1)


@pytest.fixture
def lookup(lookup_channel):
    return lookup_pb2_grpc.LookupServiceStub(lookup_channel)


async def test_the_catalog_is_really_in_postgres(postgres_catalog):
    assert postgres_catalog.dialect.name == "postgresql"
    with postgres_catalog.connect() as conn:
        assert conn.execute(text("select count(*) from codes where system = 'icd10cm'")).scalar() == 98_505
