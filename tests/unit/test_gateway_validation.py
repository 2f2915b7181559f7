"""Input validation at the door: every malformed input is a 4xx problem+json before any backend is asked.

The app runs in-process with its backends pointing at a port nobody listens on: an input that got
past validation would answer 503, so each 4xx here proves the request was refused at the door.
"""

from __future__ import annotations

import time

import httpx
import pytest

from gateway.app import create_app
from gateway.errors import PROBLEM_JSON
from gateway.settings import GatewaySettings
from tests.support.nats_server import free_port

SESSION = "mcs_" + "B" * 43


@pytest.fixture(scope="module")
def app():
    nowhere = f"127.0.0.1:{free_port()}"
    return create_app(GatewaySettings(lookup_addr=nowhere, accounts_addr=nowhere, max_body_bytes=2048))


@pytest.fixture
async def client(app):
    clients = app.state.gateway.clients
    await clients.open()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client
    finally:
        await clients.close()


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:medcode:problem:")
    assert len(body["trace_id"]) == 32
    if field is not None:
        assert field in [error["field"] for error in body["errors"]], body
    return body


@pytest.mark.parametrize(
    "path, field",
    [
        ("/v1/codes/icd11/E11.9", "system"),
        ("/v1/codes/ICD10CM/E11.9", "system"),
        ("/v1/codes/icd10cm/E11%24", "code"),
        ("/v1/codes/icd10cm/.E11", "code"),
        ("/v1/codes/icd10cm/" + "E" * 17, "code"),
        ("/v1/codes/icd10cm/E11%20", "code"),
        ("/v1/codes/icd10cm/E11.9/children?page_size=0", "page_size"),
        ("/v1/codes/icd10cm/E11.9/children?page_size=101", "page_size"),
        ("/v1/codes/icd10cm/E11.9/children?page_size=ten", "page_size"),
        ("/v1/crosswalks/icd10cm/E11.9?target_system=snomed", "target_system"),
        ("/v1/search?q=", "q"),
        ("/v1/search?q=" + "a" * 257, "q"),
        ("/v1/search?page_size=5", "q"),
        ("/v1/search?q=asthma&system=icd10", "system"),
        ("/v1/search?q=asthma&page_token=%3Cscript%3E", "page_token"),
        ("/v1/search?q=asthma&billable=perhaps", "billable"),
        ("/v1/clinical-categories?body_system=ENDO", "body_system"),
        ("/v1/clinical-categories/END%2A/codes", "category_id"),
        ("/v1/guidelines/icd10", "system"),
    ],
)
async def test_malformed_paths_and_queries_are_400_naming_the_field(client, path, field):
    assert_problem(await client.get(path), 400, field)


async def test_a_huge_query_string_is_refused_without_a_backend(client):
    body = assert_problem(await client.get("/v1/search", params={"q": "fracture " * 2_000}), 400, "q")
    assert "256" in body["detail"]


async def test_pattern_errors_are_explained_in_words(client):
    body = assert_problem(await client.get("/v1/codes/icd10cm/E11%24"), 400, "code")
    assert "such as E11.9" in body["errors"][0]["detail"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "ana@example.org", "password": "amber tulip harbour 42", "plan": "pro"}, "plan"),
        ({"email": "ana@example.org"}, "password"),
        ({"email": "", "password": "amber tulip harbour 42"}, "email"),
        ({"email": "a" * 400 + "@example.org", "password": "amber tulip harbour 42"}, "email"),
        ({"email": ["ana@example.org"], "password": "amber tulip harbour 42"}, "email"),
        ([], "body"),
    ],
)
async def test_bad_bodies_are_400_and_unknown_fields_are_refused(client, payload, field):
    assert_problem(await client.post("/v1/accounts", json=payload), 400, field)


async def test_a_body_that_is_not_json_is_400(client):
    response = await client.post(
        "/v1/sessions", content=b'{"email": "ana@', headers={"content-type": "application/json"}
    )
    assert assert_problem(response, 400, "body")["errors"][0]["detail"] == "the body is not valid JSON"


async def test_a_body_of_another_media_type_is_415(client):
    response = await client.post(
        "/v1/sessions",
        content=b"email=a&password=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415)


async def test_a_body_over_the_limit_is_413_by_its_length(client):
    payload = {"email": "ana@example.org", "password": "p" * 3_000}
    assert_problem(await client.post("/v1/accounts", json=payload), 413)


async def test_a_chunked_body_over_the_limit_is_413_while_it_is_read(client):
    async def chunks():
        for _ in range(10):
            yield b'{"email": "' + b"a" * 500

    response = await client.post(
        "/v1/accounts", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


async def test_headers_over_the_limit_are_431(client):
    assert_problem(await client.get("/healthz", headers={"x-padding": "a" * 20_000}), 431)


async def test_a_malformed_bearer_token_is_401(client):
    response = await client.get(
        "/v1/search", params={"q": "asthma"}, headers={"authorization": "Bearer nope"}
    )
    body = assert_problem(response, 401)
    assert body["reason"] == "BEARER_INVALID"
    assert "invalid_token" in response.headers["www-authenticate"]


async def test_pair_checks_without_credentials_are_401(client):
    payload = {"system": "icd10cm", "first_code": "E11.9", "second_code": "E10.9"}
    assert (
        assert_problem(await client.post("/v1/code-pairs:check", json=payload), 401)["reason"]
        == "NOT_SIGNED_IN"
    )


async def test_a_cross_site_cookie_post_is_refused_at_the_door(client):
    response = await client.post(
        "/v1/code-pairs:check",
        json={"system": "icd10cm", "first_code": "E11.9", "second_code": "E10.9"},
        headers={
            "cookie": f"medcode_session={SESSION}",
            "origin": "https://evil.example",
            "sec-fetch-site": "cross-site",
        },
    )
    assert assert_problem(response, 403)["reason"] == "CROSS_SITE_REQUEST_REFUSED"


async def test_unknown_routes_and_methods_are_problems(client):
    assert assert_problem(await client.get("/v1/nothing-here"), 404)["reason"] == "ROUTE_NOT_FOUND"
    response = await client.put("/v1/me")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET"


async def test_a_backend_nobody_listens_on_is_503_with_retry_after_at_once(client):
    started = time.monotonic()
    response = await client.get("/v1/code-systems")
    assert time.monotonic() - started < 1.0  # refused connections fail fast, well within the deadline
    body = assert_problem(response, 503)
    assert body["reason"] == "BACKEND_UNAVAILABLE"
    assert response.headers["retry-after"] == "5"
