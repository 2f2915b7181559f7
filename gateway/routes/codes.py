"""Code pages (metered), children, crosswalks and pair checks."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid

from fastapi import APIRouter, Depends, Request
from medcode.accounts.v1 import accounts_pb2
from medcode.lookup.v1 import lookup_pb2
from starlette.responses import Response

from gateway import convert, metrics
from gateway.clients import ACCOUNTS, LOOKUP
from gateway.context import Gateway, GatewayDep
from gateway.errors import QUOTA_REFUSED, Problem, invalid
from gateway.problems import AUTH_OPTIONAL, AUTH_REQUIRED, problem_responses
from gateway.routes.common import (
    CodeParam,
    PageSize,
    PageToken,
    code_key,
    require_json_body,
    to_json_text,
    with_cookie,
)
from gateway.schemas import ChildrenPage, CodePage, Crosswalk, PairCheck, PairCheckRequest, SystemName
from gateway.sessions import as_principal, credential, required_credential

router = APIRouter(tags=["codes"])
# Systems the CMS GEMs link; other systems' pages have no crosswalks to ask for.
CROSSWALKED = frozenset({"icd9cm", "icd10cm", "icd9pcs", "icd10pcs"})
IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:\-]{1,64}$"
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "One id per page open, the same on retries of that open: a retry gets the first answer.",
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY},
}
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY)
QUOTA_HEADER = {
    "X-Quota-Remaining": {
        "description": "Code page views left in the period after this one, or `unlimited`.",
        "schema": {"type": "string", "pattern": "^([0-9]+|unlimited)$"},
    }
}


async def rendered_page(gw: Gateway, system: str, code: str) -> tuple[str, bytes]:
    """The page's canonical code and JSON body, from the cache or from lookup (code and crosswalks at once)."""
    key = code_key(code)
    cached = gw.pages.get((system, key))
    if cached is not None:
        return cached
    enum = convert.SYSTEM_ENUM[system]
    crosswalk = None
    if system in CROSSWALKED:
        crosswalk = asyncio.ensure_future(
            gw.clients.call(LOOKUP, "GetCrosswalk", lookup_pb2.GetCrosswalkRequest(system=enum, code=code))
        )
    try:
        answer = await gw.clients.call(LOOKUP, "GetCode", lookup_pb2.GetCodeRequest(system=enum, code=code))
        mappings = list((await crosswalk).mappings) if crosswalk else []
    except BaseException:
        if crosswalk is not None:
            crosswalk.cancel()
        raise
    page = (answer.code.code, to_json_text(convert.code_page(answer.code, mappings)))
    gw.pages.put((system, key), page)
    return page


def idempotency_key_of(request: Request) -> str | None:
    """The Idempotency-Key header, checked as the document declares it."""
    key = request.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise invalid("Idempotency-Key", "1 to 64 letters, digits or . _ : - (a UUID fits)")
    return key


def view_request_id(idempotency_key: str | None, system: str, key: str) -> str:
    """The AuthorizeView request id: fresh per open, or derived from the client's Idempotency-Key.

    Accounts answers a repeated request id with its first answer, whatever the code; a key taken as
    it is would let one granted open unlock every other page. Bound to the code, it cannot.
    """
    if not idempotency_key:
        return str(uuid.uuid4())
    return "ik-" + hashlib.sha256(f"{idempotency_key}\n{system}\n{key}".encode()).hexdigest()[:48]


def refused(decision: accounts_pb2.AuthorizeViewResponse) -> Problem:
    """The 402 for a refused view: what is used up, until when, and what the person can do."""
    reason = convert.VIEW_REASON_NAME.get(decision.reason) or "quota_exhausted"
    period_end = convert.timestamp(decision.period_end)
    if decision.plan == "guest":
        actions = [
            {
                "action": "register",
                "method": "POST",
                "href": "/v1/accounts",
                "description": "a free account: more code pages every month",
            },
            {
                "action": "log_in",
                "method": "POST",
                "href": "/v1/sessions",
                "description": "if you have an account already",
            },
        ]
        detail = (
            "guests from this address have used today's code pages"
            if reason == "address_limit_reached"
            else "a guest's code pages are used up"
        ) + ": register for a free account (POST /v1/accounts) or log in (POST /v1/sessions)"
    else:
        actions = [
            {"action": "upgrade", "description": "the pro plan has unlimited code pages: ask for it"},
            {"action": "wait", "description": f"your views come back at {period_end}"},
        ]
        detail = (
            f"your {decision.plan} plan's code pages for this month are used up: "
            f"upgrade to pro, or wait until {period_end}"
        )
    return Problem(
        QUOTA_REFUSED,
        "QUOTA_EXHAUSTED" if reason == "quota_exhausted" else reason.upper(),
        detail,
        title="Code page views used up",
        remaining=0,
        plan=decision.plan,
        view_reason=reason,
        period_end=period_end,
        actions=actions,
    )


@router.get(
    "/v1/codes/{system}/{code}",
    # The Idempotency-Key header is read by hand on this hot route (see idempotency_key_of).
    openapi_extra={**AUTH_OPTIONAL, "parameters": [IDEMPOTENCY_HEADER]},
    response_model=CodePage,
    summary="A code's page (metered)",
    description=(
        "Everything the catalog has on a code, its ancestors (breadcrumb), children, crosswalks and "
        "licence line. Each open is counted against the principal's plan (re-opening a page already "
        "granted this month is free); a request without credentials becomes a guest, kept in a cookie. "
        "An unknown or malformed code is never counted."
    ),
    responses={
        200: {"headers": QUOTA_HEADER},
        **problem_responses(401, 402, 404, 429),
    },
)
async def code_page(system: SystemName, code: CodeParam, request: Request) -> Response:
    # The hottest route: its shared parts and its header are taken directly, not through FastAPI's
    # dependency solver (which cost a third of the route's time).
    gw: Gateway = request.app.state.gateway
    idempotency_key = idempotency_key_of(request)
    # The page first: an unknown or malformed code answers 404/400 before anything is charged.
    canonical, body = await rendered_page(gw, system.value, code)
    key = code_key(canonical)
    presented = credential(request)
    seen = gw.grants.granted(presented.token, system.value, key) if presented else None
    if seen is not None:
        # Granted to this token in this period, confirmed moments ago: a free re-open.
        metrics.QUOTA_DECISIONS.labels("already_granted_seen").inc()
        return _page(request, body, "unlimited" if seen.unlimited else str(seen.remaining))
    caller = request.state.caller
    request_id = view_request_id(idempotency_key, system.value, key)
    used_token = ""

    async def authorize(token: str) -> accounts_pb2.AuthorizeViewResponse:
        nonlocal used_token
        used_token = token
        return await gw.clients.call(
            ACCOUNTS,
            "AuthorizeView",
            accounts_pb2.AuthorizeViewRequest(
                token=token,
                system=convert.SYSTEM_ENUM[system.value],
                code=canonical,
                request_id=request_id,
                client_address=caller.address,
            ),
        )

    decision = await as_principal(request, gw, authorize)
    metrics.QUOTA_DECISIONS.labels(convert.VIEW_REASON_NAME.get(decision.reason, "unknown")).inc()
    if not decision.allowed:
        gw.grants.note_remaining(used_token, 0, False)
        raise refused(decision)
    gw.grants.remember(
        used_token,
        system.value,
        key,
        remaining=decision.remaining,
        unlimited=decision.unlimited,
        period_end=float(decision.period_end.seconds),
    )
    return _page(request, body, "unlimited" if decision.unlimited else str(decision.remaining))


def _page(request: Request, body: bytes, remaining: str) -> Response:
    response = Response(
        body,
        media_type="application/json",
        headers={"X-Quota-Remaining": remaining, "Cache-Control": "private, no-store"},
    )
    return with_cookie(request, response)


@router.get(
    "/v1/codes/{system}/{code}/children",
    response_model=ChildrenPage,
    summary="The direct children of a code (free)",
    responses=problem_responses(404),
)
async def children(
    gw: GatewayDep, system: SystemName, code: CodeParam, page_size: PageSize = 100, page_token: PageToken = ""
) -> dict:
    answer = await gw.clients.call(
        LOOKUP,
        "ListChildren",
        lookup_pb2.ListChildrenRequest(
            system=convert.SYSTEM_ENUM[system], code=code, page_size=page_size, page_token=page_token
        ),
    )
    return {
        "children": [convert.summary(c) for c in answer.children],
        "next_page_token": answer.next_page_token,
        "total_size": answer.total_size,
    }


@router.get(
    "/v1/crosswalks/{system}/{code}",
    response_model=Crosswalk,
    summary="ICD-9 <-> ICD-10 crosswalk of a code from the CMS GEMs (free)",
    responses=problem_responses(404),
)
async def crosswalk(
    gw: GatewayDep, system: SystemName, code: CodeParam, target_system: SystemName | None = None
) -> dict:
    answer = await gw.clients.call(
        LOOKUP,
        "GetCrosswalk",
        lookup_pb2.GetCrosswalkRequest(
            system=convert.SYSTEM_ENUM[system],
            code=code,
            target_system=convert.SYSTEM_ENUM[target_system] if target_system else 0,
        ),
    )
    return {
        "source": convert.summary(answer.source),
        "mappings": [convert.mapping(m) for m in answer.mappings],
    }


@router.post(
    "/v1/code-pairs:check",
    openapi_extra=AUTH_REQUIRED,
    response_model=PairCheck,
    summary="May two codes be reported together (accounts)",
    description="Excludes1/Excludes2 notes (own and inherited), sequencing and redundancy, with the note that decides.",
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(401, 403, 404, 413, 415),
)
async def check_pair(gw: GatewayDep, body: PairCheckRequest, request: Request) -> dict:
    token = required_credential(request).token
    who = await gw.clients.call(ACCOUNTS, "Authenticate", accounts_pb2.AuthenticateRequest(token=token))
    if who.principal.kind != accounts_pb2.PRINCIPAL_KIND_ACCOUNT:
        raise Problem(
            403,
            "ACCOUNT_REQUIRED",
            "pair checks are for accounts: register for free (POST /v1/accounts) or log in",
        )
    answer = await gw.clients.call(
        LOOKUP,
        "CheckCodePair",
        lookup_pb2.CheckCodePairRequest(
            system=convert.SYSTEM_ENUM[body.system], first_code=body.first_code, second_code=body.second_code
        ),
    )
    return convert.pair_check(answer)
