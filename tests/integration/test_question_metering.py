"""AuthorizeQuestion as a specification, on SQLite and on PostgreSQL (when reachable).

Every test talks to a real accounts server on a socket; the numbers checked are the counters and
outbox rows the service wrote, and, through a real nats-server, what the meter counted.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import pytest_asyncio
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.accounts.v1 import accounts_pb2_grpc
from medcode.events.v1 import events_pb2
from sqlalchemy import select

from services.accounts.bootstrap import start_accounts
from services.accounts.settings import AccountsSettings
from services.accounts.tables import outbox
from services.common.errors import error_info
from tests.support.accounts_server import (
    OPERATOR,
    Clock,
    postgres_schema,
    postgres_unreachable,
    running_accounts,
    settings,
)
from tests.support.events import eventually, sqlite_accounts
from tests.support.nats_server import NatsServer

FREE_QUESTIONS = 3


def question_settings(**overrides) -> AccountsSettings:
    return settings(free_questions=FREE_QUESTIONS, **overrides)


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def accounts(request, tmp_path_factory):
    if request.param == "postgres":
        reason = postgres_unreachable()
        if reason:
            pytest.skip(reason)
        with postgres_schema() as url:
            async with running_accounts(url, question_settings()) as harness:
                yield harness
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('questions')}/accounts.db"
        async with running_accounts(url, question_settings()) as harness:
            yield harness


async def ask(accounts, token: str, request_id: str | None = None, intent: str = "code_meaning"):
    return await accounts.stub.AuthorizeQuestion(
        pb.AuthorizeQuestionRequest(token=token, request_id=request_id or str(uuid.uuid4()), intent=intent)
    )


def questions_asked(engine, account_id: str) -> list[events_pb2.QuestionAsked]:
    with engine.connect() as conn:
        payloads = conn.execute(
            select(outbox.c.payload).where(outbox.c.subject == "medcode.meter.question_asked.v1")
        ).scalars()
        events = [events_pb2.QuestionAsked.FromString(p) for p in payloads]
    return [e for e in events if e.account_id == account_id]


async def test_a_free_account_gets_exactly_its_questions_per_day_under_concurrency(accounts):
    account = await accounts.account()

    answers = await asyncio.gather(*(ask(accounts, account.session_token) for _ in range(30)))

    granted = [a for a in answers if a.allowed]
    assert len(granted) == FREE_QUESTIONS
    assert sorted(a.remaining for a in granted) == list(range(FREE_QUESTIONS))
    assert {a.reason for a in answers if not a.allowed} == {pb.QUESTION_REASON_QUOTA_EXHAUSTED}
    assert {(a.plan, a.limit, a.unlimited, a.account_id) for a in answers} == {
        ("free", FREE_QUESTIONS, False, account.account.id)
    }
    events = questions_asked(accounts.engine, account.account.id)
    assert len(events) == FREE_QUESTIONS and {(e.plan, e.intent) for e in events} == {
        ("free", "code_meaning")
    }


async def test_the_day_ends_at_the_next_utc_midnight(accounts):
    account = await accounts.account()

    answer = await ask(accounts, account.session_token)

    today = datetime.now(UTC).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    assert answer.period_end.ToDatetime(tzinfo=UTC) == midnight


async def test_a_guest_is_told_to_register_and_nothing_is_counted(accounts):
    guest = await accounts.guest()
    answers_before = accounts.count("select count(*) from question_requests")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ask(accounts, guest)

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "register" in refused.value.details()
    assert error_info(refused.value).reason == "ACCOUNT_REQUIRED"
    assert accounts.count("select count(*) from question_requests") == answers_before


async def test_the_same_request_id_is_one_question_with_the_same_answer(accounts):
    account = await accounts.account()
    request_id = str(uuid.uuid4())

    answers = await asyncio.gather(*(ask(accounts, account.session_token, request_id) for _ in range(8)))
    later = await ask(accounts, account.session_token, request_id)

    assert all(a == answers[0] for a in answers) and later == answers[0]
    assert answers[0].allowed and answers[0].remaining == FREE_QUESTIONS - 1
    assert len(questions_asked(accounts.engine, account.account.id)) == 1
    assert (
        accounts.count("select used from question_counters where account_id = :a", a=account.account.id) == 1
    )


async def test_a_pro_account_asks_without_limit(accounts):
    account = await accounts.account()
    await accounts.stub.ChangePlan(
        pb.ChangePlanRequest(account_id=account.account.id, plan="pro"), metadata=OPERATOR
    )

    answers = await asyncio.gather(*(ask(accounts, account.session_token) for _ in range(FREE_QUESTIONS * 4)))

    assert all(a.allowed and a.unlimited and a.plan == "pro" for a in answers)
    assert {(a.remaining, a.limit) for a in answers} == {(0, 0)}
    assert len(questions_asked(accounts.engine, account.account.id)) == FREE_QUESTIONS * 4


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("request_id", "", "FIELD_REQUIRED"),
        ("request_id", "has spaces", "REQUEST_ID_INVALID"),
        ("intent", "Drop Table", "INTENT_INVALID"),
        ("intent", "x" * 65, "INTENT_INVALID"),
        ("token", "", "FIELD_REQUIRED"),
        ("token", "not-a-token", "TOKEN_MALFORMED"),
    ],
)
async def test_bad_fields_are_invalid_arguments_naming_the_field(accounts, field, value, reason):
    account = await accounts.account()
    request = {"token": account.session_token, "request_id": str(uuid.uuid4()), "intent": ""} | {field: value}

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.stub.AuthorizeQuestion(pb.AuthorizeQuestionRequest(**request))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = error_info(refused.value)
    assert (info.reason, info.metadata["field"]) == (reason, field)


async def test_a_logged_out_session_cannot_ask(accounts):
    account = await accounts.account()
    await accounts.stub.Logout(pb.LogoutRequest(token=account.session_token))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ask(accounts, account.session_token)

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(refused.value).reason == "SESSION_REVOKED"


async def test_a_new_utc_day_gives_new_questions(tmp_path):
    clock = Clock(datetime(2026, 5, 31, 23, 59, 59, tzinfo=UTC))
    async with running_accounts(f"sqlite:///{tmp_path}/accounts.db", question_settings(), clock) as accounts:
        token = (await accounts.account()).session_token
        late = [await ask(accounts, token) for _ in range(FREE_QUESTIONS + 1)]
        clock.advance(seconds=1)
        next_day = await ask(accounts, token)

    assert [a.allowed for a in late] == [True] * FREE_QUESTIONS + [False]
    assert late[-1].period_end.ToDatetime(tzinfo=UTC) == datetime(2026, 6, 1, tzinfo=UTC)
    assert next_day.allowed and next_day.remaining == FREE_QUESTIONS - 1
    assert next_day.period_end.ToDatetime(tzinfo=UTC) == datetime(2026, 6, 2, tzinfo=UTC)


async def test_a_plan_with_no_questions_refuses_every_one(tmp_path):
    no_questions = replace(question_settings(), free_questions=0)
    async with running_accounts(f"sqlite:///{tmp_path}/accounts.db", no_questions) as accounts:
        account = await accounts.account()
        answer = await ask(accounts, account.session_token)

        assert not answer.allowed and answer.reason == pb.QUESTION_REASON_QUOTA_EXHAUSTED
        assert questions_asked(accounts.engine, account.account.id) == []


def test_questions_per_day_come_from_the_environment():
    configured = AccountsSettings.from_env(
        {"MEDCODE_PLAN_FREE_QUESTIONS": "25", "MEDCODE_PLAN_PRO_QUESTIONS": "500"}
    )
    defaults = AccountsSettings.from_env({})
    unlimited = AccountsSettings.from_env({"MEDCODE_PLAN_FREE_QUESTIONS": "unlimited"})

    assert (configured.free_questions, configured.pro_questions) == (25, 500)
    assert (defaults.free_questions, defaults.pro_questions) == (10, None)
    assert unlimited.free_questions is None


async def test_granted_questions_reach_get_usage_once_through_nats_and_the_meter(tmp_path):
    engine = sqlite_accounts(tmp_path / "accounts.db")
    with NatsServer(tmp_path / "jetstream") as nats_server:
        running = await start_accounts(engine, "127.0.0.1:0", question_settings(), nats_url=nats_server.url)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                stub = accounts_pb2_grpc.AccountsServiceStub(channel)
                account = await stub.Register(
                    pb.RegisterRequest(
                        email=f"q-{uuid.uuid4().hex[:8]}@example.org", password="amber tulip harbour 42"
                    )
                )
                request_ids = [str(uuid.uuid4()) for _ in range(FREE_QUESTIONS + 2)]
                for request_id in [*request_ids, *request_ids]:  # every question retried once
                    await stub.AuthorizeQuestion(
                        pb.AuthorizeQuestionRequest(token=account.session_token, request_id=request_id)
                    )

                async def usage() -> pb.GetUsageResponse:
                    return await stub.GetUsage(
                        pb.GetUsageRequest(account_id=account.account.id), metadata=OPERATOR
                    )

                # The meter runs behind the RPCs: wait for its count, then for anything late to land.
                deadline = asyncio.get_running_loop().time() + 20
                while (await usage()).totals.questions < FREE_QUESTIONS:
                    assert asyncio.get_running_loop().time() < deadline, "the meter did not count in 20 s"
                    await asyncio.sleep(0.05)
                await eventually(lambda: outbox_pending(engine) == 0, what="the outbox draining")
                rows = (await usage()).rows
        finally:
            await running.stop(grace=1)
            engine.dispose()

    # Five questions asked twice each: three granted, two refused, every retry free.
    assert len(questions_asked(engine, account.account.id)) == FREE_QUESTIONS
    assert [(r.principal_id, r.questions, r.page_views) for r in rows] == [
        (account.account.id, FREE_QUESTIONS, 0)
    ]


def outbox_pending(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(outbox.c.id).where(outbox.c.published_at.is_(None))).all())
