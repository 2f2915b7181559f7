"""Submitting and reading consultations: checked before charged, metered once, stored with their event.

The accounts service is real (on a socket); NATS is not started, so the events stay in the
assistant's outbox, where the test reads them.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from medcode.events.v1 import events_pb2
from sqlalchemy import select

from services.assistant import consultation_store as store
from services.assistant.consultation_tables import outbox
from services.assistant.consultations import (
    ConsultationNotFound,
    Consultations,
    InvalidConsultation,
    consultation_message,
)
from services.assistant.metering import AccountRequired, QuestionsExhausted
from services.assistant.migrate import current_revision, head_revision, upgrade_to_head
from services.assistant.schema import metadata
from services.common.db import create_db_engine
from tests.support.accounts_server import running_accounts, settings
from tests.support.postgres import postgres_schema, require_postgres

QUESTIONS_PER_DAY = 4


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def accounts(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('submit-accounts')}/accounts.db"
    async with running_accounts(url, settings(free_questions=QUESTIONS_PER_DAY)) as harness:
        yield harness


@pytest.fixture(params=["sqlite", "postgres"])
def assistant_db(request, tmp_path):
    """The assistant's database, migrated: a SQLite file, or a schema of the test PostgreSQL."""
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path}/assistant.db")
        upgrade_to_head(engine)
        yield engine
        engine.dispose()
        return
    require_postgres()
    with postgres_schema("medcode_assistant") as url:
        engine = create_db_engine(url)
        upgrade_to_head(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def consultations(assistant_db, accounts):
    return Consultations(assistant_db, accounts.stub)


def test_the_migrations_create_exactly_consultation_tables_and_run_twice(assistant_db):
    upgrade_to_head(assistant_db)

    assert current_revision(assistant_db) == head_revision()
    with assistant_db.connect() as conn:
        differences = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True}),
            metadata,
        )
    assert differences == []


def events(consultations: Consultations) -> list[events_pb2.ConsultationRequested]:
    with consultations.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.subject, outbox.c.payload)).all()
    assert {subject for subject, _ in rows} <= {"medcode.assistant.consultation_requested.v1"}
    return [events_pb2.ConsultationRequested.FromString(payload) for _, payload in rows]


def questions_used(accounts, account_id: str) -> int:
    return accounts.count(
        "select coalesce(sum(used), 0) from question_counters where account_id = :a", a=account_id
    )


async def submit(consultations, token, **fields):
    values = {"email": "coder@example.org", "question": "What is E11.65?", "request_id": str(uuid.uuid4())}
    return await consultations.submit(token=token, **(values | fields))


async def test_a_submitted_consultation_is_stored_queued_with_one_event_and_one_question(
    consultations, accounts
):
    account = await accounts.account()

    consultation_id = await submit(
        consultations, account.session_token, context_code="e11.65", email="Coder@Bücher.example"
    )

    record = await consultations.get(token=account.session_token, consultation_id=consultation_id)
    assert (record.status, record.question, record.context_code) == (
        store.QUEUED,
        "What is E11.65?",
        "E11.65",
    )
    assert record.email == "Coder@xn--bcher-kva.example" and record.account_id == account.account.id
    assert [(e.consultation_id, e.account_id) for e in events(consultations)] == [
        (consultation_id, account.account.id)
    ]
    assert questions_used(accounts, account.account.id) == 1
    message = consultation_message(record)
    assert message.id == consultation_id and message.status == 1 and message.HasField("created_time")


async def test_a_retry_with_the_same_request_id_is_the_same_consultation_counted_once(
    consultations, accounts
):
    account = await accounts.account()
    request_id = str(uuid.uuid4())

    ids = await asyncio.gather(
        *(submit(consultations, account.session_token, request_id=request_id) for _ in range(5))
    )

    assert len(set(ids)) == 1 and len(events(consultations)) == 1
    assert questions_used(accounts, account.account.id) == 1


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        ({"question": "   "}, "QUESTION_EMPTY", "question"),
        ({"question": "x" * 2001}, "QUESTION_TOO_LONG", "question"),
        ({"question": "what is \x00\x01 E11.9"}, "QUESTION_NOT_TEXT", "question"),
        ({"email": ""}, "FIELD_REQUIRED", "email"),
        ({"email": "coder@localhost"}, "EMAIL_INVALID", "email"),
        ({"email": "two words@example.org"}, "EMAIL_INVALID", "email"),
        ({"email": "a@b.example\r\nBcc: everyone@example.org"}, "EMAIL_INVALID", "email"),
        ({"email": "x" * 250 + "@example.org"}, "EMAIL_INVALID", "email"),
        ({"context_code": "E11.9; drop"}, "INVALID_CONTEXT_CODE", "context_code"),
        ({"context_system": 99}, "INVALID_CONTEXT_CODE", "context_system"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_never_charged(
    consultations, accounts, fields, reason, field
):
    account = await accounts.account()

    with pytest.raises(InvalidConsultation) as refused:
        await submit(consultations, account.session_token, **fields)

    assert (refused.value.reason, refused.value.field) == (reason, field)
    status = refused.value.status()
    assert status.code.name == "INVALID_ARGUMENT" and status.details == refused.value.message
    assert questions_used(accounts, account.account.id) == 0 and events(consultations) == []


async def test_a_guest_cannot_submit_and_is_told_to_register(consultations, accounts):
    guest = await accounts.guest()

    with pytest.raises(AccountRequired) as refused:
        await submit(consultations, guest)

    assert "register" in refused.value.message and events(consultations) == []


async def test_used_up_questions_refuse_a_consultation(consultations, accounts):
    account = await accounts.account()
    for _ in range(QUESTIONS_PER_DAY):
        await submit(consultations, account.session_token)

    with pytest.raises(QuestionsExhausted):
        await submit(consultations, account.session_token)

    assert len(events(consultations)) == QUESTIONS_PER_DAY


async def test_only_the_account_that_submitted_reads_a_consultation(consultations, accounts):
    owner, other = await accounts.account(), await accounts.account()
    consultation_id = await submit(consultations, owner.session_token)

    with pytest.raises(ConsultationNotFound) as someone_elses:
        await consultations.get(token=other.session_token, consultation_id=consultation_id)
    with pytest.raises(ConsultationNotFound):
        await consultations.get(token=owner.session_token, consultation_id=str(uuid.uuid4()))
    with pytest.raises(InvalidConsultation) as malformed:
        await consultations.get(token=owner.session_token, consultation_id="../etc/passwd")
    with pytest.raises(AccountRequired):
        await consultations.get(token=await accounts.guest(), consultation_id=consultation_id)

    assert someone_elses.value.status().code.name == "NOT_FOUND"
    assert malformed.value.reason == "CONSULTATION_ID_INVALID"
    assert (
        await consultations.get(token=owner.session_token, consultation_id=consultation_id)
    ).id == consultation_id
