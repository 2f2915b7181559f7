"""The accounts schema: Alembic's `upgrade head` creates exactly tables.py, and running it again is a no-op."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from services.accounts.migrate import current_revision, head_revision, upgrade_to_head
from services.accounts.tables import metadata
from services.common.db import create_db_engine
from tests.support.accounts_server import postgres_schema, postgres_unreachable


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path}/accounts.db")
        yield engine
        engine.dispose()
        return
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    with postgres_schema() as url:
        engine = create_db_engine(url)
        yield engine
        engine.dispose()


def test_upgrade_head_creates_the_tables_of_tables_py_and_is_idempotent(engine):
    upgrade_to_head(engine)
    upgrade_to_head(engine)

    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        differences = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True}),
            metadata,
        )
    assert differences == []
    assert set(inspect(engine).get_table_names()) == {*metadata.tables, "alembic_version"}


def test_the_shared_tables_have_the_agreed_columns(engine):
    upgrade_to_head(engine)
    columns = {t: [c["name"] for c in inspect(engine).get_columns(t)] for t in ("outbox", "meter_usage")}

    assert columns["outbox"] == [
        "id", "event_id", "subject", "event_type", "payload", "traceparent", "occurred_at",
        "published_at", "attempts", "claimed_until", "last_error",
    ]  # fmt: skip
    assert columns["meter_usage"] == [
        "id", "day", "principal_kind", "principal_id", "page_views", "registrations", "questions",
    ]  # fmt: skip
