"""The assistant's HTTP routes end to end: gateway, assistant, accounts, lookup, NATS as processes,
and a real SMTP server (aiosmtpd) in the test for the consultations' mail."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.e2e.platform import Platform, Process, _clean_env, start, wait_grpc_serving
from tests.support.accounts_server import PASSWORD
from tests.support.nats_server import free_port
from tests.support.smtp_server import SmtpServer

PROBLEM_JSON = "application/problem+json"
FREE_QUESTIONS_PER_DAY = 10  # the platform's accounts service runs the default plans


@pytest.fixture(scope="module")
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def assistant(platform: Platform, smtp, tmp_path_factory) -> Process:
    """`python -m services.assistant` over the platform's lookup, accounts and NATS, mailing to `smtp`."""
    directory = tmp_path_factory.mktemp("assistant")
    address = f"127.0.0.1:{free_port()}"
    env = _clean_env(
        MEDCODE_ASSISTANT_ADDR=address,
        MEDCODE_LOOKUP_ADDR=platform.lookup.address,
        MEDCODE_ACCOUNTS_ADDR=platform.accounts.address,
        NATS_URL=platform.nats.url,
        MEDCODE_DATA_DIR=str(directory),
        MEDCODE_SMTP_HOST="127.0.0.1",
        MEDCODE_SMTP_PORT=str(smtp.port),
    )
    process = start("assistant", "services.assistant", env, address, directory)
    try:
        wait_grpc_serving(process)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def gateway_url(platform: Platform, assistant: Process) -> str:
    gateway = platform.another_gateway("gateway-assistant", MEDCODE_ASSISTANT_ADDR=assistant.address)
    return f"http://{gateway.address}"


@asynccontextmanager
async def signed_in(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a new account, its session token sent as a Bearer token."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        answer = await client.post(
            "/v1/accounts", json={"email": f"coder-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD}
        )
        assert answer.status_code == 201, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['session_token']}"
        yield client


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_an_account_asks_and_gets_a_cited_answer_and_follows_up(gateway_url):
    async with signed_in(gateway_url) as client:
        first = await client.post("/v1/assistant/ask", json={"question": "What is E11.65?"})
        follow_up = await client.post(
            "/v1/assistant/ask",
            json={"question": "and with hyperglycemia?", "conversation_id": first.json()["conversation_id"]},
        )

    assert first.status_code == 200, first.text
    body = first.json()
    assert body["intent"] == "code_meaning" and "E11.65" in body["answer"]
    assert {"system": "icd10cm", "code": "E11.65"} in [
        {"system": c["system"], "code": c["code"]} for c in body["citations"]
    ]
    assert follow_up.status_code == 200 and follow_up.json()["conversation_id"] == body["conversation_id"]


async def test_the_stream_carries_the_same_answer_in_chunks_then_citations_then_done(gateway_url):
    async with signed_in(gateway_url) as client:
        whole = (
            await client.post("/v1/assistant/ask", json={"question": "What does Excludes2 mean?"})
        ).json()
        streamed = await client.post(
            "/v1/assistant/ask:stream", json={"question": "What does Excludes2 mean?"}
        )

    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/event-stream")
    events = sse_events(streamed.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-2:] == ["citations", "done"] and set(kinds[:-2]) == {"chunk"} and len(kinds) > 2
    assert "".join(data["text"] for kind, data in events if kind == "chunk") == whole["answer"]
    assert events[-2][1]["citations"] == whole["citations"]
    assert events[-1][1]["intent"] == whole["intent"] == "convention"


async def test_guests_and_strangers_get_401_saying_to_register(gateway_url):
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        nobody = await client.post("/v1/assistant/ask", json={"question": "What is I10?"})
        # A browser that opened a code page is a guest, kept in the session cookie.
        await client.get("/v1/codes/icd10cm/I10")
        assert client.cookies.get("medcode_session", "").startswith("mcg_")
        guest = await client.post(
            "/v1/assistant/ask:stream",
            json={"question": "What is I10?"},
            headers={"Origin": "https://app.example.org"},
        )
        consultation = await client.post(
            "/v1/consultations",
            json={"email": "coder@example.org", "question": "What is I10?"},
            headers={"Origin": "https://app.example.org"},
        )

    assert nobody.status_code == 401 and nobody.json()["reason"] == "NOT_SIGNED_IN"
    for answer in (guest, consultation):
        assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM_JSON
        problem = answer.json()
        assert problem["reason"] == "ACCOUNT_REQUIRED" and "register" in problem["detail"]
        assert [a["action"] for a in problem["actions"]] == ["register", "log_in"]


async def test_questions_per_day_run_out_with_429_and_a_retry_counts_once(gateway_url):
    async with signed_in(gateway_url) as client:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        once = await client.post("/v1/assistant/ask", json={"question": "What is I10?"}, headers=key)
        retried = await client.post("/v1/assistant/ask", json={"question": "What is I10?"}, headers=key)
        rest = [
            await client.post("/v1/assistant/ask", json={"question": "What is I10?"})
            for _ in range(FREE_QUESTIONS_PER_DAY - 1)
        ]
        refused = await client.post("/v1/assistant/ask", json={"question": "What is I10?"})

    assert [a.status_code for a in (once, retried, *rest)] == [200] * (FREE_QUESTIONS_PER_DAY + 1)
    assert refused.status_code == 429 and refused.headers["content-type"] == PROBLEM_JSON
    problem = refused.json()
    assert (
        problem["reason"] == "QUESTION_QUOTA_EXHAUSTED"
        and problem["questions_per_day"] == FREE_QUESTIONS_PER_DAY
    )
    assert 0 < int(refused.headers["Retry-After"]) <= 86_400 and problem["resets_at"].endswith("T00:00:00Z")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"question": ""}, "QUESTION_EMPTY"),
        ({"question": "x" * 5000}, "QUESTION_TOO_LONG"),
        ({"question": "what is \u0007 I10"}, "QUESTION_NOT_TEXT"),
        ({"question": "What is I10?", "context_code": "E11.9;"}, "INVALID_ARGUMENT"),
        ({"question": "What is I10?", "colour": "blue"}, "INVALID_ARGUMENT"),
    ],
)
async def test_bad_questions_are_400_problems_and_never_counted(gateway_url, body, reason):
    async with signed_in(gateway_url) as client:
        answer = await client.post("/v1/assistant/ask", json=body)
        # Were it counted, the day's questions would run out one early.
        asked = [
            (await client.post("/v1/assistant/ask", json={"question": "What is I10?"})).status_code
            for _ in range(FREE_QUESTIONS_PER_DAY)
        ]

    assert answer.status_code == 400 and answer.json()["reason"] == reason
    assert asked == [200] * FREE_QUESTIONS_PER_DAY


async def test_a_body_that_is_not_json_is_refused(gateway_url):
    async with signed_in(gateway_url) as client:
        answer = await client.post(
            "/v1/assistant/ask", content=b"question=I10", headers={"Content-Type": "text/plain"}
        )

    assert answer.status_code == 415


async def test_a_consultation_is_accepted_with_202_then_answered_and_mailed(gateway_url, smtp):
    async with signed_in(gateway_url) as client, signed_in(gateway_url) as other:
        mails_before = len(smtp.received())
        accepted = await client.post(
            "/v1/consultations",
            json={
                "email": "ana@example.org",
                "question": "Which code for a torn ACL of the right knee, first visit?",
            },
        )
        href = accepted.headers["Location"]
        deadline = asyncio.get_running_loop().time() + 30
        while (consultation := (await client.get(href)).json())["status"] != "mailed":
            assert asyncio.get_running_loop().time() < deadline, consultation
            await asyncio.sleep(0.1)
        hidden = await other.get(href)
        bad_email = await client.post(
            "/v1/consultations", json={"email": "ana at example", "question": "I10?"}
        )
        messages = await smtp.wait_for(mails_before + 1)

    assert accepted.status_code == 202 and accepted.json() == {
        "consultation_id": href.rsplit("/", 1)[1],
        "status": "queued",
        "href": href,
    }
    assert (
        consultation["answer"] and consultation["mailed_time"] and consultation["email"] == "ana@example.org"
    )
    assert messages[-1]["To"] == "ana@example.org"
    assert hidden.status_code == 404 and hidden.json()["reason"] == "CONSULTATION_NOT_FOUND"
    assert bad_email.status_code == 400 and bad_email.json()["reason"] == "EMAIL_INVALID"
    assert bad_email.json()["errors"][0]["field"] == "email"


async def test_an_assistant_that_is_down_is_a_503_with_retry_after(platform):
    gateway = platform.another_gateway(
        "gateway-no-assistant", MEDCODE_ASSISTANT_ADDR=f"127.0.0.1:{free_port()}"
    )
    async with signed_in(f"http://{gateway.address}") as client:
        answer = await client.post("/v1/assistant/ask", json={"question": "What is I10?"})

    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert answer.json()["reason"] == "BACKEND_UNAVAILABLE"
