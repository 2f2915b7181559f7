"""Search: free, rate-limited per principal and per client address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from medcode.lookup.v1 import lookup_pb2
from starlette.responses import Response

from gateway import convert
from gateway.clients import LOOKUP
from gateway.context import Gateway
from gateway.errors import Problem
from gateway.problems import AUTH_OPTIONAL, problem_responses
from gateway.ratelimit import retry_after
from gateway.routes.common import JSON_MEDIA, PageSize, PageToken, to_json_text
from gateway.schemas import MAX_QUERY_LENGTH, SearchPage, SystemName
from gateway.sessions import credential

router = APIRouter(tags=["search"])
# gRPC field names as this route's parameters are named.
FIELD_NAMES = {"query": "q", "systems": "system", "billable_only": "billable"}


def _rate_limited(wait: float, whose: str) -> Problem:
    seconds = retry_after(wait)
    return Problem(
        429,
        "SEARCH_RATE_LIMITED",
        f"too many searches from this {whose}: try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
        retry_after_seconds=seconds,
    )


@router.get(
    "/v1/search",
    openapi_extra=AUTH_OPTIONAL,
    response_model=SearchPage,
    summary="Search codes by code prefix, title words or plain words (free)",
    description="Best first. Results carry the code and its title; the page (`/v1/codes/...`) has the rest.",
    responses=problem_responses(401, 429),
)
async def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_LENGTH,
            pattern=r"\S",
            description="A code or code prefix, title words, or plain words (`E11.6`, `broken wrist`, `htn`).",
            examples=["broken wrist"],
        ),
    ],
    system: Annotated[
        list[SystemName] | None,
        Query(description="Only these systems (repeat the parameter); all when absent."),
    ] = None,
    billable: Annotated[bool, Query(description="Only codes reportable as they stand.")] = False,
    page_size: PageSize = 20,
    page_token: PageToken = "",
) -> Response:
    # A hot route: its shared parts are taken directly, not through the dependency solver.
    gw: Gateway = request.app.state.gateway
    address_wait = gw.search_by_address.take(request.state.caller.address)
    if address_wait:
        raise _rate_limited(address_wait, "address")
    found = credential(request)
    if found is not None:
        principal_wait = gw.search_by_principal.take(found.token)
        if principal_wait:
            raise _rate_limited(principal_wait, "account or guest")
    key = (q, tuple(sorted(s.value for s in system or ())), billable, page_size, page_token)
    body = gw.searches.get(key)
    if body is None:
        answer = await gw.clients.call(
            LOOKUP,
            "SearchCodes",
            lookup_pb2.SearchCodesRequest(
                query=q,
                systems=[convert.SYSTEM_ENUM[name] for name in key[1]],
                billable_only=billable,
                page_size=page_size,
                page_token=page_token,
            ),
            field_names=FIELD_NAMES,
        )
        body = to_json_text(
            {
                "results": [convert.summary(result.code) for result in answer.results],
                "next_page_token": answer.next_page_token,
                "total_size": answer.total_size,
            }
        )
        gw.searches.put(key, body)
    return Response(body, media_type=JSON_MEDIA)
