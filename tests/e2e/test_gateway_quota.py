"""Metered code pages end to end: gateway, accounts (relay and meter on NATS) and lookup as processes.

This module runs its own platform, so that the meter's totals can be compared with exactly the views
its tests were granted.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import httpx
import pytest
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.accounts.v1 import accounts_pb2_grpc

from tests.e2e.platform import Addresses, Platform, start_platform
from tests.support.accounts_server import OPERATOR, PASSWORD

PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def quota_platform(catalog_url, tmp_path_factory) -> Platform:
    running = start_platform(catalog_url, tmp_path_factory.mktemp("quota-platform"))
    # The same backends behind a gateway that remembers nothing: every open asks accounts.
    running.another_gateway(
        "gateway-uncached", MEDCODE_GATEWAY_GRANT_CACHE_SECONDS="0", MEDCODE_GATEWAY_PAGE_CACHE_ENTRIES="0"
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def granted() -> set[tuple[str, str]]:
    """(token, code) of every view the module's tests were granted: what the meter must count."""
    return set()


@pytest.fixture(scope="module")
def addresses() -> Addresses:
    return Addresses()


@pytest.fixture(params=["gateway", "gateway-uncached"])
def gateway_url(request, quota_platform) -> str:
    if request.param == "gateway":
        return quota_platform.url
    return f"http://{quota_platform.extra[0].address}"


@pytest.fixture(scope="module")
async def billable_codes(quota_platform) -> list[str]:
    """Forty billable ICD-10-CM codes, as search (free) finds them."""
    async with httpx.AsyncClient(base_url=quota_platform.url) as client:
        answer = await client.get(
            "/v1/search", params={"q": "diabetes", "system": "icd10cm", "billable": "true", "page_size": 40}
        )
    codes = [result["code"] for result in answer.json()["results"]]
    assert len(codes) == 40
    return codes


def client_from(url: str, address: str, **options) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"X-Forwarded-For": address}, timeout=30, **options)


def token_of(client: httpx.AsyncClient, response: httpx.Response) -> str:
    bearer = client.headers.get("authorization", "").removeprefix("Bearer ")
    return bearer or response.cookies.get("medcode_session") or client.cookies["medcode_session"]


async def open_pages(client: httpx.AsyncClient, codes: list[str], granted: set) -> list[httpx.Response]:
    answers = await asyncio.gather(*(client.get(f"/v1/codes/icd10cm/{code}") for code in codes))
    for answer in answers:
        if answer.status_code == 200:
            granted.add((token_of(client, answer), answer.json()["code"]))
    return answers


async def register(client: httpx.AsyncClient) -> dict:
    answer = await client.post(
        "/v1/accounts", json={"email": f"coder-{uuid.uuid4().hex[:10]}@example.org", "password": PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_guest_gets_exactly_one_of_twenty_concurrent_pages(
    gateway_url, billable_codes, granted, addresses
):
    async with client_from(gateway_url, addresses()) as guest:
        me = await guest.get("/v1/me")
        assert me.json()["principal"]["kind"] == "guest" and "medcode_session" in guest.cookies
        answers = await open_pages(guest, billable_codes[:20], granted)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [402] * 19
    refusal = next(a for a in answers if a.status_code == 402)
    assert refusal.headers["content-type"] == PROBLEM_JSON
    problem = refusal.json()
    assert (problem["remaining"], problem["plan"], problem["reason"]) == (0, "guest", "QUOTA_EXHAUSTED")
    assert {"register", "log_in"} <= {action["action"] for action in problem["actions"]}
    page = next(a for a in answers if a.status_code == 200)
    assert page.headers["x-quota-remaining"] == "0"


async def test_a_free_account_gets_exactly_five_of_twenty_concurrent_pages(
    gateway_url, billable_codes, granted, addresses
):
    async with client_from(gateway_url, addresses()) as anonymous:
        account = await register(anonymous)
    async with client_from(gateway_url, addresses()) as coder:
        coder.headers["authorization"] = f"Bearer {account['session_token']}"
        answers = await open_pages(coder, billable_codes[20:40], granted)
        me = (await coder.get("/v1/me")).json()

    assert sorted(a.status_code for a in answers) == [200] * 5 + [402] * 15
    assert sorted(a.headers["x-quota-remaining"] for a in answers if a.status_code == 200) == list("01234")
    refusal = next(a for a in answers if a.status_code == 402).json()
    assert (refusal["plan"], refusal["remaining"]) == ("free", 0)
    assert "upgrade" in {action["action"] for action in refusal["actions"]}
    assert me["quota"] | {"period_start": None, "period_end": None} == {
        "limit": 5,
        "used": 5,
        "remaining": 0,
        "unlimited": False,
        "period_start": None,
        "period_end": None,
    }


async def test_re_opening_a_granted_page_is_free(gateway_url, billable_codes, granted, addresses):
    async with client_from(gateway_url, addresses()) as anonymous:
        account = await register(anonymous)
    async with client_from(gateway_url, addresses()) as coder:
        coder.headers["authorization"] = f"Bearer {account['session_token']}"
        first = await open_pages(coder, [billable_codes[0]], granted)
        # The same page again, with and without its dot and in another case.
        written = billable_codes[0]
        again = await open_pages(coder, [written, written.replace(".", ""), written.lower()] * 3, granted)
        me = (await coder.get("/v1/me")).json()

    assert first[0].status_code == 200 and first[0].headers["x-quota-remaining"] == "4"
    assert [a.status_code for a in again] == [200] * 9
    assert {a.headers["x-quota-remaining"] for a in again} == {"4"}
    assert {a.json()["code"] for a in again} == {written}
    assert me["quota"]["used"] == 1


async def test_an_unknown_or_malformed_code_is_never_charged(gateway_url, addresses):
    async with client_from(gateway_url, addresses()) as anonymous:
        account = await register(anonymous)
    async with client_from(gateway_url, addresses()) as coder:
        coder.headers["authorization"] = f"Bearer {account['session_token']}"
        unknown = await coder.get("/v1/codes/icd10cm/E11.99")
        malformed = await coder.get("/v1/codes/icd10cm/E11.9%3B")
        me = (await coder.get("/v1/me")).json()

    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM_JSON
    assert unknown.json()["reason"] == "CODE_NOT_FOUND"
    assert "E11.9" in unknown.json()["nearest"]
    assert malformed.status_code == 400
    assert me["quota"]["used"] == 0


async def test_cookieless_requests_do_not_escape_the_per_address_guest_limit(
    gateway_url, billable_codes, granted, addresses
):
    # No cookie jar: every request is a new guest, and the address's five guest views a day hold.
    async with client_from(gateway_url, addresses(), cookies=None) as stranger:
        answers = []
        for code in billable_codes[:12]:
            answer = await stranger.get(f"/v1/codes/icd10cm/{code}")
            stranger.cookies.clear()
            if answer.status_code == 200:
                granted.add((answer.cookies["medcode_session"], answer.json()["code"]))
            answers.append(answer)

    assert [a.status_code for a in answers] == [200] * 5 + [402] * 7
    assert {a.json()["view_reason"] for a in answers[5:]} == {"address_limit_reached"}


async def test_a_retried_open_with_its_idempotency_key_gets_the_first_answer_and_no_other_page(
    quota_platform, billable_codes, granted, addresses
):
    uncached = f"http://{quota_platform.extra[0].address}"
    async with client_from(uncached, addresses()) as guest:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = await guest.get(f"/v1/codes/icd10cm/{billable_codes[0]}", headers=key)
        retry = await guest.get(f"/v1/codes/icd10cm/{billable_codes[0]}", headers=key)
        other = await guest.get(f"/v1/codes/icd10cm/{billable_codes[1]}", headers=key)
        granted.add((guest.cookies["medcode_session"], first.json()["code"]))

    assert (first.status_code, retry.status_code) == (200, 200)
    # The same key on another code is another open: the guest's single view is spent.
    assert other.status_code == 402


def usage_page_views(platform: Platform) -> int:
    with grpc.insecure_channel(platform.accounts.address) as channel:
        stub = accounts_pb2_grpc.AccountsServiceStub(channel)
        return stub.GetUsage(pb.GetUsageRequest(), metadata=OPERATOR, timeout=5).totals.page_views


async def test_the_meter_ends_equal_to_what_was_granted(quota_platform, granted):
    assert granted, "run with the tests above: they grant the views counted here"
    deadline = time.monotonic() + 30
    counted = usage_page_views(quota_platform)
    while counted != len(granted) and time.monotonic() < deadline:
        assert counted < len(granted), f"the meter counted {counted} views; {len(granted)} were granted"
        await asyncio.sleep(0.1)
        counted = usage_page_views(quota_platform)
    assert counted == len(granted)
