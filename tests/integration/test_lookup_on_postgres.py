"""The same LookupService tests with the catalog in PostgreSQL (MEDCODE_TEST_POSTGRES_URL).

The catalog is built into a schema of its own, dropped afterwards; the tests are those of
test_lookup_rpcs, run against a server whose repository reads PostgreSQL.
"""

from __future__ import annotations

import os
import uuid

import grpc
import pytest
import pytest_asyncio
from medcode.lookup.v1 import lookup_pb2_grpc
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.common.db import create_db_engine
from tests.integration.test_lookup_rpcs import *  # noqa: F403 - the same specification, another database

POSTGRES_URL = os.environ.get("MEDCODE_TEST_POSTGRES_URL", "")


def _reachable(url: str) -> str | None:
    """None when PostgreSQL answers at `url`, else why not."""
    if not url:
        return "MEDCODE_TEST_POSTGRES_URL is not set (CI sets postgresql://postgres@127.0.0.1:5432/test)"
    try:
        engine = create_db_engine(url)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means: skip, and say why
        return f"PostgreSQL at {url} is not reachable: {error.__class__.__name__}: {error}"
    return None


@pytest.fixture(scope="module")
def postgres_catalog():
    reason = _reachable(POSTGRES_URL)
    if reason:
        pytest.skip(reason)
    from services.lookup.catalog import ensure_built

    schema = f"medcode_test_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = create_db_engine(url.render_as_string(hide_password=False))
    try:
        ensure_built(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


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
