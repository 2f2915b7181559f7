"""The assistant's side of metering: services.assistant.metering against a real accounts server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import pytest_asyncio
from medcode.accounts.v1 import accounts_pb2_grpc

from services.assistant import metering
from tests.support.accounts_server import free_port, running_accounts, settings


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def accounts(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('metering')}/accounts.db"
    async with running_accounts(url, settings(free_questions=2)) as harness:
        yield harness


async def test_a_grant_says_who_asks_and_what_is_left(accounts):
    account = await accounts.account()

    grant = await metering.authorize_question(
        accounts.stub, account.session_token, str(uuid.uuid4()), "code_pair"
    )

    today = datetime.now(UTC).date()
    assert (grant.account_id, grant.plan, grant.remaining, grant.limit, grant.unlimited) == (
        account.account.id,
        "free",
        1,
        2,
        False,
    )
    assert grant.resets_at == datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)


async def test_used_up_questions_are_resource_exhausted_with_when_more_come(accounts):
    token = (await accounts.account()).session_token
    for _ in range(2):
        await metering.authorize_question(accounts.stub, token, str(uuid.uuid4()))

    with pytest.raises(metering.QuestionsExhausted) as refused:
        await metering.authorize_question(accounts.stub, token, str(uuid.uuid4()))

    status = refused.value.status()
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "free plan's 2 questions for today are used up" in status.details
    assert refused.value.metadata["resets_at"] == refused.value.resets_at.isoformat(timespec="seconds")


async def test_a_guest_gets_account_required_saying_to_register(accounts):
    guest = await accounts.guest()

    with pytest.raises(metering.AccountRequired) as refused:
        await metering.authorize_question(accounts.stub, guest, str(uuid.uuid4()))
    with pytest.raises(metering.AccountRequired):
        await metering.account_of(accounts.stub, guest)

    assert refused.value.status().code == grpc.StatusCode.UNAUTHENTICATED
    assert "register" in refused.value.message


@pytest.mark.parametrize("token", ["", "mcs_" + "A" * 43, "nonsense"])
async def test_a_missing_unknown_or_malformed_token_is_never_a_grant(accounts, token):
    with pytest.raises(metering.QuestionRefused) as refused:
        await metering.authorize_question(accounts.stub, token, str(uuid.uuid4()))

    assert refused.value.status().code == grpc.StatusCode.UNAUTHENTICATED


async def test_account_of_names_the_account_without_counting(accounts):
    account = await accounts.account()

    for _ in range(3):
        assert await metering.account_of(accounts.stub, account.session_token) == account.account.id
    grant = await metering.authorize_question(accounts.stub, account.session_token, str(uuid.uuid4()))

    assert grant.remaining == 1


async def test_accounts_away_is_unavailable_not_a_crash():
    async with grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}") as channel:
        stub = accounts_pb2_grpc.AccountsServiceStub(channel)
        with pytest.raises(metering.MeteringUnavailable) as refused:
            await metering.authorize_question(stub, "mcs_" + "A" * 43, "r1", deadline_seconds=0.5)

    assert refused.value.status().code == grpc.StatusCode.UNAVAILABLE


class _Context:
    """Just the part of a grpc.aio.ServicerContext that caller_credentials reads."""

    def __init__(self, *metadata: tuple[str, str]) -> None:
        self.metadata = metadata

    def invocation_metadata(self):
        return self.metadata


def test_caller_credentials_read_the_bearer_token_and_request_id():
    given = metering.caller_credentials(
        _Context(("authorization", "Bearer mcs_abc"), ("x-request-id", "req-1"))
    )
    fresh = metering.caller_credentials(_Context(("authorization", "bearer  mcs_abc ")))

    assert (given.token, given.request_id) == ("mcs_abc", "req-1")
    assert fresh.token == "mcs_abc" and uuid.UUID(fresh.request_id)
    with pytest.raises(metering.AccountRequired):
        metering.caller_credentials(_Context(("authorization", "Basic abc")))
    with pytest.raises(metering.AccountRequired):
        metering.caller_credentials(_Context())
