"""The test PostgreSQL at MEDCODE_TEST_POSTGRES_URL: whether it answers, and schemas of a test's own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.common.db import create_db_engine

POSTGRES_URL = os.environ.get("MEDCODE_TEST_POSTGRES_URL", "")


def postgres_unreachable(url: str = POSTGRES_URL) -> str | None:
    """None when PostgreSQL answers at `url`, else why not (the message a skipped test shows)."""
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


def require_postgres() -> None:
    """Skip the calling test (or fixture), saying why, unless the test PostgreSQL answers."""
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)


@contextmanager
def postgres_schema(prefix: str = "medcode_test") -> Iterator[str]:
    """A URL whose connections work in a fresh schema of their own (search_path), dropped afterwards.

    Each test gets its own schema so that runs in parallel, or one left behind by a crash, never
    share tables.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    try:
        yield (
            make_url(POSTGRES_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()
