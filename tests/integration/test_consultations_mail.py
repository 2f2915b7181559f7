"""CaseConsultant end to end below the gRPC adapter: submitted, published, answered once, mailed once.

Every part is real: the accounts service meters the question, a nats-server carries the event from
the assistant's outbox to the worker, the assistant's engine answers from the lookup service over
the built catalog, and an SMTP server (aiosmtpd) on a socket receives the mail, or is down.
"""

from __future__ import annotations

import asyncio
import mailbox
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from sqlalchemy import select

from services.assistant import consultation_store as store
from services.assistant.bootstrap import build_assistant
from services.assistant.consultation_service import engine_answerer, start_consultations
from services.assistant.consultation_tables import consultations, outbox
from services.assistant.consultation_worker import ConsultationWorker, WorkerConsumer
from services.assistant.mail import MailSettings
from services.assistant.migrate import upgrade_to_head
from services.assistant.settings import AssistantSettings
from services.common.db import create_db_engine
from services.common.settings import SettingsError
from services.common.transactions import write_transaction
from tests.support.accounts_server import running_accounts, settings
from tests.support.events import eventually
from tests.support.nats_server import NatsServer
from tests.support.smtp_server import SmtpServer

# Short waits so that the retries a test provokes happen within it.
FAST_MAILER = {"poll_interval": 0.05, "first_retry": 0.05, "max_retry": 0.3}
TEN_CODES = ("E11.9", "I10", "J45.909", "N18.30", "R51.9", "E78.5", "K21.9", "M54.50", "E11.65", "Z00.00")
FAST_WORKER = {"consumer": WorkerConsumer(ack_wait=5.0, backoff=(5.0,), max_deliver=4, nak_delay=0.2)}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def accounts(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('consult-accounts')}/accounts.db"
    async with running_accounts(url, settings(free_questions=1000)) as harness:
        yield harness


@pytest.fixture
def answerer(lookup_channel):
    """The assistant's engine over the real lookup service, as the worker runs it."""
    return engine_answerer(build_assistant(lookup_channel, AssistantSettings(), []))


@pytest.fixture
def nats_server(tmp_path):
    with NatsServer(tmp_path / "jetstream") as server:
        yield server


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def assistant_db(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path}/assistant.db")
    yield engine
    engine.dispose()


class Consultant:
    """The consultation service as the assistant runs it, and what a test reads of its state."""

    def __init__(self, service, engine, accounts) -> None:
        self.service, self.engine, self.accounts = service, engine, accounts

    async def submit(self, token: str, question: str = "What is E11.65?", **fields) -> str:
        fields.setdefault("email", f"coder-{uuid.uuid4().hex[:6]}@example.org")
        fields.setdefault("request_id", str(uuid.uuid4()))
        return await self.service.consultations.submit(token=token, question=question, **fields)

    def record(self, consultation_id: str) -> store.ConsultationRecord:
        record = store.read(self.engine, consultation_id)
        assert record is not None
        return record

    async def until(
        self, consultation_id: str, status: str, within: float = 30.0
    ) -> store.ConsultationRecord:
        await eventually(
            lambda: self.record(consultation_id).status == status,
            within=within,
            what=f"consultation {consultation_id} becoming {status} (it is {self.record(consultation_id).status})",
        )
        return self.record(consultation_id)


async def consultant(assistant_db, accounts, answerer, mail: MailSettings, nats_url, **options) -> Consultant:
    service = await start_consultations(
        assistant_db,
        accounts.stub,
        answerer,
        mail,
        nats_url=nats_url,
        mailer_options=options.get("mailer", FAST_MAILER),
        worker_options=options.get("worker", FAST_WORKER),
    )
    return Consultant(service, assistant_db, accounts)


def smtp_settings(tmp_path: Path, smtp: SmtpServer, **overrides) -> MailSettings:
    return replace(
        MailSettings(maildir=tmp_path / "mail", smtp_host="127.0.0.1", smtp_port=smtp.port), **overrides
    )


async def test_a_consultation_is_answered_from_the_catalog_and_mailed_once(
    assistant_db, accounts, answerer, nats_server, smtp, tmp_path
):
    account = await accounts.account()
    run = await consultant(assistant_db, accounts, answerer, smtp_settings(tmp_path, smtp), nats_server.url)
    try:
        consultation_id = await run.submit(
            account.session_token, "What does E11.65 mean?", email="Coder@Example.ORG"
        )
        mailed = await run.until(consultation_id, store.MAILED)
        [message] = await smtp.wait_for(1)
    finally:
        await run.service.stop()

    assert message["To"] == "Coder@example.org" and smtp.envelopes[0][1] == ["Coder@example.org"]
    assert message["Subject"] == "Your coding question: What does E11.65 mean?"
    assert message["Message-ID"] == mailed.message_id
    body = message.get_content().replace("\r\n", "\n")
    assert "> What does E11.65 mean?" in body and mailed.answer.strip() in body
    assert ("E11.65" in {c.code for c in mailed.citations}) and "E11.65" in body
    assert (
        mailed.answer_attempts == 1 and mailed.mail_attempts == 1 and mailed.account_id == account.account.id
    )


async def test_an_smtp_outage_delays_the_mail_and_it_arrives_once_when_the_server_is_back(
    assistant_db, accounts, answerer, nats_server, smtp, tmp_path
):
    account = await accounts.account()
    smtp.stop()
    run = await consultant(assistant_db, accounts, answerer, smtp_settings(tmp_path, smtp), nats_server.url)
    try:
        consultation_id = await run.submit(account.session_token, "What is I10?")
        await eventually(
            lambda: run.record(consultation_id).mail_attempts >= 3,
            what="three failed sends while SMTP is down",
        )
        waiting = run.record(consultation_id)
        smtp.start()
        mailed = await run.until(consultation_id, store.MAILED)
        messages = await smtp.wait_for(1)
        # Give a second send every chance to happen: the mailer polls 20 times a second.
        await asyncio.sleep(0.5)
    finally:
        await run.service.stop()

    assert waiting.status == store.ANSWERED and "ConnectionRefusedError" in waiting.last_error
    assert len(smtp.received()) == 1 and messages[0]["Message-ID"] == mailed.message_id
    assert mailed.mail_attempts > waiting.mail_attempts >= 3
    assert mailed.last_error is None and mailed.answer_attempts == 1


async def test_mail_waiting_in_the_database_goes_out_after_a_restart(
    assistant_db, accounts, answerer, nats_server, smtp, tmp_path
):
    account = await accounts.account()
    smtp.stop()
    first = await consultant(assistant_db, accounts, answerer, smtp_settings(tmp_path, smtp), nats_server.url)
    consultation_id = await first.submit(account.session_token, "What is J45.909?")
    await eventually(lambda: first.record(consultation_id).mail_attempts >= 1, what="a failed send")
    await first.service.stop()
    smtp.start()

    second = await consultant(
        assistant_db, accounts, answerer, smtp_settings(tmp_path, smtp), nats_server.url
    )
    try:
        await second.until(consultation_id, store.MAILED)
        await smtp.wait_for(1)
    finally:
        await second.service.stop()

    assert len(smtp.received()) == 1


async def test_a_redelivered_event_is_acknowledged_without_answering_again(
    assistant_db, accounts, answerer, nats_server, smtp, tmp_path
):
    account = await accounts.account()
    run = await consultant(assistant_db, accounts, answerer, smtp_settings(tmp_path, smtp), nats_server.url)
    try:
        consultation_id = await run.submit(account.session_token, "What is N18.30?")
        await run.until(consultation_id, store.MAILED)
        with assistant_db.connect() as conn:
            payload = conn.execute(select(outbox.c.payload)).scalar_one()
        connection = await nats.connect(nats_server.url)
        try:  # the same event again, as a republish after the duplicate window would bring it
            await connection.jetstream().publish(
                store.CONSULTATION_REQUESTED, payload, headers={"Nats-Msg-Id": "republished-1"}
            )
        finally:
            await connection.close()
        await eventually(
            lambda: run.service.worker.stats.already_done == 1, what="the redelivery acknowledged"
        )
    finally:
        await run.service.stop()

    again = run.record(consultation_id)
    assert (again.answer_attempts, again.mail_attempts, run.service.worker.stats.answered) == (1, 1, 1)
    assert len(smtp.received()) == 1


async def test_two_workers_answer_and_mail_each_consultation_once(
    assistant_db, accounts, answerer, nats_server, smtp, tmp_path
):
    account = await accounts.account()
    mail = smtp_settings(tmp_path, smtp)
    run = await consultant(assistant_db, accounts, answerer, mail, nats_server.url)
    second = ConsultationWorker(
        assistant_db, nats_server.url, answerer, sender=mail.sender, name="second-worker", **FAST_WORKER
    )
    await second.start()
    try:
        ids = await asyncio.gather(
            *(run.submit(account.session_token, f"What is {code}?") for code in TEN_CODES)
        )
        for consultation_id in ids:
            await run.until(consultation_id, store.MAILED)
        await smtp.wait_for(10)
    finally:
        await second.stop()
        await run.service.stop()

    records = [run.record(i) for i in ids]
    assert {r.answer_attempts for r in records} == {1}
    assert run.service.worker.stats.answered + second.stats.answered == 10
    assert sorted(m["Message-ID"] for m in smtp.received()) == sorted(r.message_id for r in records)


async def test_nats_down_at_submit_delays_the_answer_and_loses_nothing(
    assistant_db, accounts, answerer, nats_server, smtp, tmp_path
):
    account = await accounts.account()
    nats_server.stop()
    run = await consultant(assistant_db, accounts, answerer, smtp_settings(tmp_path, smtp), nats_server.url)
    try:
        consultation_id = await asyncio.wait_for(run.submit(account.session_token, "What is R51.9?"), 2.0)
        queued = run.record(consultation_id)
        nats_server.start()
        await run.until(consultation_id, store.MAILED)
    finally:
        await run.service.stop()

    assert queued.status == store.QUEUED
    assert len(smtp.received()) == 1


async def test_a_refused_address_fails_the_consultation_without_retrying(
    assistant_db, accounts, answerer, nats_server, smtp, tmp_path
):
    account = await accounts.account()
    run = await consultant(assistant_db, accounts, answerer, smtp_settings(tmp_path, smtp), nats_server.url)
    try:
        consultation_id = await run.submit(account.session_token, "What is I10?", email="refused@example.org")
        failed = await run.until(consultation_id, store.FAILED)
    finally:
        await run.service.stop()

    assert failed.mail_attempts == 1 and "550" in failed.failure_reason
    assert failed.answer and smtp.received() == []


# The test server takes a login without TLS: it listens on 127.0.0.1 only.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtp_with_a_login_sends_once_the_password_is_right(
    assistant_db, accounts, answerer, nats_server, tmp_path
):
    account = await accounts.account()
    with SmtpServer(user="medcode", password="s3cret-enough") as smtp:
        wrong = smtp_settings(tmp_path, smtp, smtp_user="medcode", smtp_password="wrong")
        run = await consultant(assistant_db, accounts, answerer, wrong, nats_server.url)
        consultation_id = await run.submit(account.session_token, "What is I10?")
        await eventually(lambda: run.record(consultation_id).mail_attempts >= 1, what="a refused login")
        await run.service.stop()
        refused_login = run.record(consultation_id)

        right = smtp_settings(tmp_path, smtp, smtp_user="medcode", smtp_password="s3cret-enough")
        run = await consultant(assistant_db, accounts, answerer, right, nats_server.url)
        try:
            await run.until(consultation_id, store.MAILED)
        finally:
            await run.service.stop()
        received = smtp.received()

    assert refused_login.status == store.ANSWERED and "535" in refused_login.last_error
    assert len(received) == 1


async def test_without_an_smtp_host_the_mail_lands_in_the_maildir(
    assistant_db, accounts, answerer, nats_server, tmp_path
):
    account = await accounts.account()
    run = await consultant(
        assistant_db, accounts, answerer, MailSettings(maildir=tmp_path / "mail"), nats_server.url
    )
    try:
        consultation_id = await run.submit(account.session_token, "What is E11.9?", email="coder@example.org")
        mailed = await run.until(consultation_id, store.MAILED)
    finally:
        await run.service.stop()

    [message] = list(mailbox.Maildir(tmp_path / "mail", create=False))
    assert message["Message-ID"] == mailed.message_id and message["To"] == "coder@example.org"


async def test_a_worker_that_lost_its_claim_does_not_store_a_second_answer(assistant_db):
    upgrade_to_head(assistant_db)
    now = datetime.now(UTC)
    with write_transaction(assistant_db) as conn:
        consultation_id, _ = store.create(
            conn,
            account_id=str(uuid.uuid4()),
            request_id="r-1",
            email="coder@example.org",
            question="What is I10?",
            context_code="",
            context_system=0,
            now=now,
        )
    lease = timedelta(seconds=1)

    slow = store.claim_for_answering(assistant_db, consultation_id, now, lease)
    busy = store.claim_for_answering(assistant_db, consultation_id, now, lease)
    later = store.claim_for_answering(assistant_db, consultation_id, now + 2 * lease, lease)
    answer = {"answer": "I10 is ...", "citations": [], "intent": "", "message_id": "<m@x>", "now": now}

    assert (slow.outcome, busy.outcome, later.outcome) == ("claimed", "busy", "claimed")
    assert not store.store_answer(assistant_db, consultation_id, slow.claim_id, **answer)
    assert store.store_answer(assistant_db, consultation_id, later.claim_id, **answer)
    assert store.claim_for_answering(assistant_db, consultation_id, now, lease).outcome == "done"
    assert store.claim_for_answering(assistant_db, str(uuid.uuid4()), now, lease).outcome == "missing"
    with assistant_db.connect() as conn:
        assert conn.execute(select(consultations.c.answer_attempts)).scalar_one() == 2


def test_mail_settings_come_from_the_environment(tmp_path):
    local = MailSettings.from_env(tmp_path, {})
    relay = MailSettings.from_env(
        tmp_path,
        {
            "MEDCODE_SMTP_HOST": "smtp.example.org",
            "MEDCODE_SMTP_USER": "medcode",
            "MEDCODE_SMTP_PASSWORD": "secret",
            "MEDCODE_SMTP_FROM": "medcode <answers@example.org>",
        },
    )
    loopback = MailSettings.from_env(tmp_path, {"MEDCODE_SMTP_HOST": "127.0.0.1", "MEDCODE_SMTP_USER": "u"})

    assert (local.smtp_host, local.maildir) == ("", tmp_path / "mail")
    # A password never crosses the network in clear: a login means STARTTLS, on the submission port.
    assert (relay.starttls, relay.smtp_port, relay.sender) == (True, 587, "medcode <answers@example.org>")
    assert (loopback.starttls, loopback.smtp_port) == (False, 25)


@pytest.mark.parametrize(
    "env",
    [
        {"MEDCODE_SMTP_HOST": "smtp.example.org", "MEDCODE_SMTP_PORT": "smtp"},
        {"MEDCODE_SMTP_HOST": "smtp.example.org", "MEDCODE_SMTP_STARTTLS": "maybe"},
        {"MEDCODE_SMTP_FROM": "nobody"},
        {"MEDCODE_SMTP_HOST": "smtp.example.org", "MEDCODE_SMTP_USER": "u", "MEDCODE_SMTP_STARTTLS": "false"},
    ],
)
def test_unusable_mail_settings_stop_the_start(tmp_path, env):
    with pytest.raises(SettingsError):
        MailSettings.from_env(tmp_path, env)
