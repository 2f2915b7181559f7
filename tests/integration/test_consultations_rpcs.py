"""SubmitConsultation and GetConsultation over gRPC, the assistant started as its bootstrap starts it.

Real parts: the lookup service over the built catalog, the accounts service, a nats-server, an
SMTP server (aiosmtpd), and the assistant's own SQLite database.
"""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
import pytest_asyncio
from medcode.assistant.v1 import assistant_pb2 as pb
from medcode.assistant.v1 import assistant_pb2_grpc

from services.assistant.bootstrap import start_assistant
from services.assistant.mail import MailSettings
from services.assistant.settings import AssistantSettings
from services.common.db import create_db_engine
from services.common.errors import error_info
from tests.support.accounts_server import running_accounts, settings
from tests.support.assistant_server import bearer
from tests.support.nats_server import NatsServer
from tests.support.smtp_server import SmtpServer


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(lookup_server, tmp_path_factory):
    """Accounts, NATS, SMTP and the assistant with its consultations, for the module."""
    root = tmp_path_factory.mktemp("consult-rpcs")
    database = create_db_engine(f"sqlite:///{root}/assistant.db")
    with NatsServer(root / "jetstream") as nats_server, SmtpServer() as smtp:
        async with running_accounts(f"sqlite:///{root}/accounts.db", settings(free_questions=50)) as accounts:
            mail = MailSettings(maildir=root / "mail", smtp_host="127.0.0.1", smtp_port=smtp.port)
            running = await start_assistant(
                "127.0.0.1:0",
                f"127.0.0.1:{lookup_server.port}",
                f"127.0.0.1:{accounts.running.port}",
                AssistantSettings(),
                consultation_db=database,
                mail=mail,
                nats_url=nats_server.url,
            )
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                    yield accounts, assistant_pb2_grpc.AssistantServiceStub(channel), smtp
            finally:
                await running.stop(grace=1)
                database.dispose()


async def consultation_when(stub, token: str, consultation_id: str, status: int, within: float = 30.0):
    """GetConsultation until the consultation reaches `status` (the worker and mailer run behind)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        answer = await stub.GetConsultation(
            pb.GetConsultationRequest(consultation_id=consultation_id), metadata=bearer(token)
        )
        if answer.consultation.status == status:
            return answer.consultation
        assert asyncio.get_running_loop().time() < deadline, f"still {answer.consultation.status}"
        await asyncio.sleep(0.05)


async def test_a_consultation_submitted_over_grpc_is_answered_and_mailed(platform):
    accounts, stub, smtp = platform
    account = await accounts.account()
    mails_before = len(smtp.received())

    submitted = await stub.SubmitConsultation(
        pb.SubmitConsultationRequest(email="coder@example.org", question="What is the code for a torn ACL?"),
        metadata=bearer(account.session_token),
    )
    mailed = await consultation_when(
        stub, account.session_token, submitted.consultation_id, pb.CONSULTATION_STATUS_MAILED
    )
    messages = await smtp.wait_for(mails_before + 1)

    assert mailed.answer and mailed.HasField("answered_time") and mailed.HasField("mailed_time")
    assert all(c.code and c.title for c in mailed.citations)
    assert messages[-1]["To"] == "coder@example.org"
    assert mailed.id == submitted.consultation_id and mailed.email == "coder@example.org"


async def test_the_same_request_id_submits_one_consultation(platform):
    accounts, stub, _ = platform
    token = (await accounts.account()).session_token
    request = pb.SubmitConsultationRequest(email="coder@example.org", question="What is I10?")
    request_id = str(uuid.uuid4())

    ids = {
        (await stub.SubmitConsultation(request, metadata=bearer(token, request_id))).consultation_id
        for _ in range(3)
    }

    assert len(ids) == 1


async def test_a_guest_is_told_to_register(platform):
    accounts, stub, _ = platform
    guest = await accounts.guest()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.SubmitConsultation(
            pb.SubmitConsultationRequest(email="coder@example.org", question="What is I10?"),
            metadata=bearer(guest),
        )

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(refused.value).reason == "ACCOUNT_REQUIRED" and "register" in refused.value.details()


async def test_without_a_token_nothing_is_submitted(platform):
    _, stub, _ = platform

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.SubmitConsultation(
            pb.SubmitConsultationRequest(email="coder@example.org", question="I10?")
        )

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"email": "not an address", "question": "What is I10?"}, "EMAIL_INVALID"),
        ({"email": "coder@example.org", "question": ""}, "QUESTION_EMPTY"),
        ({"email": "coder@example.org", "question": "x" * 5000}, "QUESTION_TOO_LONG"),
        ({"email": "coder@example.org", "question": "I10\x1b[31m?"}, "QUESTION_NOT_TEXT"),
    ],
)
async def test_bad_input_is_invalid_argument_with_its_reason(platform, fields, reason):
    accounts, stub, _ = platform
    token = (await accounts.account()).session_token

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.SubmitConsultation(pb.SubmitConsultationRequest(**fields), metadata=bearer(token))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(refused.value).reason == reason


async def test_another_accounts_consultation_is_not_found(platform):
    accounts, stub, _ = platform
    owner, other = (await accounts.account()).session_token, (await accounts.account()).session_token
    submitted = await stub.SubmitConsultation(
        pb.SubmitConsultationRequest(email="coder@example.org", question="What is I10?"),
        metadata=bearer(owner),
    )

    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await stub.GetConsultation(
            pb.GetConsultationRequest(consultation_id=submitted.consultation_id), metadata=bearer(other)
        )

    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(hidden.value).reason == "CONSULTATION_NOT_FOUND"
