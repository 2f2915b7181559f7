"""The HTTP API over real sockets: a new user's walk, sessions and cookies, cross-site refusals, CORS,
limits on sizes and rates, metrics."""

from __future__ import annotations

import json
import socket
import uuid

import httpx
import pytest

from tests.support.accounts_server import PASSWORD

PROBLEM_JSON = "application/problem+json"
APP = "https://app.example.org"


def client_for(
    platform, address: str, url: str | None = None, headers: dict | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url or platform.url, headers={"X-Forwarded-For": address, **(headers or {})}, timeout=30
    )


def new_email() -> str:
    return f"coder-{uuid.uuid4().hex[:10]}@example.org"


async def test_a_new_user_searches_opens_a_page_registers_and_sees_the_quota(platform, new_address):
    async with client_for(platform, new_address()) as browser:
        found = await browser.get(
            "/v1/search", params={"q": "type 2 diabetes with hyperglycemia", "page_size": 5}
        )
        assert found.status_code == 200
        first = found.json()["results"][0]
        assert set(first) == {"system", "code", "title", "billable", "kind"}

        page = await browser.get(f"/v1/codes/{first['system']}/{first['code']}")
        assert page.status_code == 200 and page.headers["x-quota-remaining"] == "0"
        body = page.json()
        assert body["code"] == first["code"] and body["licence"] and body["ancestors"]
        assert "HttpOnly" in page.headers["set-cookie"] and "SameSite=Lax" in page.headers["set-cookie"]
        guest_cookie = browser.cookies["medcode_session"]
        assert guest_cookie.startswith("mcg_")

        registered = await browser.post("/v1/accounts", json={"email": new_email(), "password": PASSWORD})
        assert registered.status_code == 201
        assert browser.cookies["medcode_session"] == registered.json()["session_token"]

        me = (await browser.get("/v1/me")).json()
        assert me["principal"]["kind"] == "account" and me["plan"] == "free"
        assert me["quota"]["limit"] == 5 and me["quota"]["remaining"] == 5 - me["quota"]["used"]


async def test_log_in_and_out_with_a_bearer_token(platform, new_address):
    email = new_email()
    async with client_for(platform, new_address()) as api:
        assert (
            await api.post("/v1/accounts", json={"email": email, "password": PASSWORD})
        ).status_code == 201
        wrong = await api.post("/v1/sessions", json={"email": email, "password": "not the password at all"})
        assert wrong.status_code == 401 and wrong.json()["reason"] == "INVALID_CREDENTIALS"
        session = await api.post("/v1/sessions", json={"email": email, "password": PASSWORD})
        assert session.status_code == 201
        token = session.json()["session_token"]
        api.cookies.clear()
        api.headers["authorization"] = f"Bearer {token}"
        assert (await api.get("/v1/me")).json()["principal"]["email"] == email

        out = await api.delete("/v1/sessions/current")
        assert out.status_code == 204 and "Max-Age=0" in out.headers["set-cookie"]
        after = await api.get("/v1/me")
        assert after.status_code == 401 and after.headers["content-type"] == PROBLEM_JSON


async def test_registering_an_email_twice_is_409(platform, new_address):
    email = new_email()
    async with client_for(platform, new_address()) as api:
        await api.post("/v1/accounts", json={"email": email, "password": PASSWORD})
        again = await api.post("/v1/accounts", json={"email": email.upper(), "password": PASSWORD})
    assert again.status_code == 409 and again.json()["reason"] == "EMAIL_TAKEN"


async def test_a_weak_password_is_400_naming_the_field(platform, new_address):
    async with client_for(platform, new_address()) as api:
        answer = await api.post("/v1/accounts", json={"email": new_email(), "password": "short"})
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == ["password"]


async def test_a_cross_site_cookie_post_is_refused_and_the_session_survives(platform, new_address):
    async with client_for(platform, new_address()) as browser:
        await browser.post("/v1/accounts", json={"email": new_email(), "password": PASSWORD})
        forged = await browser.delete(
            "/v1/sessions/current", headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
        )
        forged_check = await browser.post(
            "/v1/code-pairs:check",
            json={"system": "icd10cm", "first_code": "E11.9", "second_code": "E10.9"},
            headers={"Sec-Fetch-Site": "cross-site", "Origin": APP},
        )
        still = (await browser.get("/v1/me")).json()
        same_site = await browser.post(
            "/v1/code-pairs:check",
            json={"system": "icd10cm", "first_code": "E11.9", "second_code": "E10.9"},
            headers={"Sec-Fetch-Site": "same-site", "Origin": APP},
        )

    assert forged.status_code == 403 and forged.json()["reason"] == "CROSS_SITE_REQUEST_REFUSED"
    assert forged_check.status_code == 403
    assert still["principal"]["kind"] == "account"
    assert same_site.status_code == 200 and same_site.json()["verdict"] == "excludes1_conflict"


async def test_pair_checks_are_for_accounts(platform, new_address):
    pair = {"system": "icd10cm", "first_code": "E11.9", "second_code": "E10.9"}
    async with client_for(platform, new_address()) as guest:
        await guest.get("/v1/me")
        refused = await guest.post("/v1/code-pairs:check", json=pair)
    assert refused.status_code == 403 and refused.json()["reason"] == "ACCOUNT_REQUIRED"


async def test_cors_answers_allowed_front_ends_only(platform, new_address):
    async with client_for(platform, new_address()) as browser:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        allowed = await browser.options("/v1/sessions", headers={"Origin": APP, **preflight})
        evil = await browser.options("/v1/sessions", headers={"Origin": "https://evil.example", **preflight})
        simple = await browser.get("/v1/code-systems", headers={"Origin": APP})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in evil.headers
    assert simple.headers["access-control-allow-origin"] == APP
    assert "X-Quota-Remaining" in simple.headers["access-control-expose-headers"]


async def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(platform, new_address):
    async with client_for(platform, new_address()) as browser:
        plain = await browser.get("/v1/me")
        browser.cookies.clear()
        over_tls = await browser.get("/v1/me", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in plain.headers["set-cookie"]
    assert "Secure" in over_tls.headers["set-cookie"]


@pytest.mark.parametrize(
    "path, status",
    [
        ("/v1/codes/icd10cm/E11%00", 400),
        ("/v1/codes/icd10cm/%2e%2e%2fetc", 404),  # `../etc`: no such route
        ("/v1/codes/snomed/E11.9", 400),
        ("/v1/codes/icd10cm/E11.9/children?page_size=1000", 400),
        ("/v1/search?q=" + "fracture%20" * 1_000, 400),
        ("/v1/search?q=asthma&page_size=-1", 400),
    ],
)
async def test_malformed_paths_and_huge_queries_are_4xx_problems(platform, new_address, path, status):
    async with client_for(platform, new_address()) as client:
        answer = await client.get(path)
    assert answer.status_code == status and answer.headers["content-type"] == PROBLEM_JSON


async def test_bad_json_and_big_bodies_are_4xx_problems(platform, new_address):
    async with client_for(platform, new_address()) as client:
        bad = await client.post(
            "/v1/sessions", content=b'{"email":', headers={"content-type": "application/json"}
        )
        big = await client.post(
            "/v1/sessions",
            content=b'{"email": "' + b"a" * 1_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
    assert (bad.status_code, big.status_code) == (400, 413)
    assert bad.headers["content-type"] == big.headers["content-type"] == PROBLEM_JSON


def raw_request(address: str, head: bytes) -> bytes:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            sock.sendall(head)
        except OSError:
            pass  # the gateway may close before it has read everything: its answer is what counts
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize(
    "head",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200_000 + b"\r\n\r\n",
        b"GET /healthz?" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Many: header\r\n" * 5_000 + b"\r\n",
    ],
)
def test_huge_heads_are_refused_with_431(platform, head):
    answer = raw_request(platform.gateway.address, head)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    problem = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert problem["status"] == 431 and len(problem["trace_id"]) == 32


async def test_search_is_rate_limited_per_address_and_per_principal(platform, new_address):
    limited = platform.another_gateway(
        "gateway-limited",
        MEDCODE_SEARCH_PER_ADDRESS_RATE="0.01",
        MEDCODE_SEARCH_PER_ADDRESS_BURST="3",
        MEDCODE_SEARCH_PER_PRINCIPAL_RATE="0.01",
        MEDCODE_SEARCH_PER_PRINCIPAL_BURST="5",
    )
    url = f"http://{limited.address}"
    async with client_for(platform, new_address(), url=url) as one:
        answers = [await one.get("/v1/search", params={"q": "asthma"}) for _ in range(4)]
    async with client_for(platform, new_address(), url=url) as other:
        elsewhere = await other.get("/v1/search", params={"q": "asthma"})
        token = (await other.post("/v1/accounts", json={"email": new_email(), "password": PASSWORD})).json()
    bearer = {"authorization": f"Bearer {token['session_token']}"}
    by_principal = []
    for _ in range(6):  # a fresh address each time: only the principal's bucket can stop it
        async with client_for(platform, new_address(), url=url, headers=bearer) as roaming:
            by_principal.append(await roaming.get("/v1/search", params={"q": "asthma"}))

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert (
        int(answers[3].headers["retry-after"]) >= 1 and answers[3].json()["reason"] == "SEARCH_RATE_LIMITED"
    )
    assert elsewhere.status_code == 200
    assert [a.status_code for a in by_principal] == [200] * 5 + [429]


async def test_readiness_health_and_metrics(platform, new_address):
    async with client_for(platform, new_address()) as client:
        await client.get("/v1/search", params={"q": "asthma"})
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
        metrics = await client.get("/metrics")
    assert ready.status_code == 200 and ready.json()["backends"] == {
        "lookup": "SERVING",
        "accounts": "SERVING",
    }
    assert alive.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'medcode_gateway_requests_total{method="GET",route="/v1/search",status="200"}' in text
    assert (
        'medcode_gateway_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/search"}' in text
    )


async def test_the_codes_of_a_clinical_category_answer_within_the_deadline(platform, new_address):
    async with client_for(platform, new_address()) as client:
        answer = await client.get("/v1/clinical-categories/END002/codes")
    assert answer.status_code == 200
    assert answer.json()["category"]["id"] == "END002" and answer.json()["codes"]
