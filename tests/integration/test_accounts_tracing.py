"""Events written by a request carry the request's trace: the context crosses to the database threads."""

from __future__ import annotations

import uuid

from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import select

from services.accounts.migrate import upgrade_to_head
from services.accounts.tables import outbox
from services.accounts.use_cases import Accounts
from services.common.db import create_db_engine
from tests.support.accounts_server import PASSWORD, settings


async def test_the_outbox_rows_of_a_request_carry_its_traceparent(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path}/accounts.db")
    upgrade_to_head(engine)
    accounts = Accounts(engine, settings())
    tracer = TracerProvider().get_tracer("test")
    try:
        with tracer.start_as_current_span("register") as registering:
            signed_in = await accounts.register("traced@example.org", PASSWORD, "", "")
        with tracer.start_as_current_span("open a code page") as viewing:
            await accounts.authorize_view(signed_in.session_token, "icd10cm", "I10", str(uuid.uuid4()), "")
    finally:
        accounts.close()
    with engine.connect() as conn:
        rows = dict(conn.execute(select(outbox.c.subject, outbox.c.traceparent)).all())
    engine.dispose()

    for subject, span in (
        ("medcode.accounts.registered.v1", registering),
        ("medcode.meter.page_viewed.v1", viewing),
    ):
        trace_id = format(span.get_span_context().trace_id, "032x")
        assert rows[subject].split("-")[1] == trace_id, subject
