"""Register, log in, log out, and who am I (with the quota)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from medcode.accounts.v1 import accounts_pb2
from starlette.responses import Response

from gateway import convert
from gateway.clients import ACCOUNTS
from gateway.context import GatewayDep
from gateway.problems import AUTH_OPTIONAL, problem_responses
from gateway.routes.common import json_response, require_json_body, with_cookie
from gateway.schemas import Credentials, Me, SignedIn
from gateway.sessions import as_principal, credential, drop_cookie, keep_in_cookie

router = APIRouter(tags=["accounts"])
SET_COOKIE = {
    "Set-Cookie": {
        "description": "The session cookie (HttpOnly, SameSite=Lax, Secure over TLS) for browsers.",
        "schema": {"type": "string"},
    }
}


def _signed_in(request: Request, answer) -> Response:
    keep_in_cookie(request, answer.session_token, answer.expire_time)
    body = {
        "account": convert.account(answer.account),
        "session_token": answer.session_token,
        "expire_time": convert.timestamp(answer.expire_time),
    }
    return with_cookie(request, json_response(body, 201, {"Cache-Control": "no-store"}))


@router.post(
    "/v1/accounts",
    openapi_extra=AUTH_OPTIONAL,
    status_code=201,
    response_model=SignedIn,
    summary="Register: a free account and a session",
    description=(
        "The password needs at least 12 characters and must not be a common one. A guest's cookie, if "
        "any, is handed over: the account grows from that guest, whose token stops working. The "
        "session token comes in the body (for `Authorization: Bearer`) and in the cookie (for browsers)."
    ),
    dependencies=[Depends(require_json_body)],
    responses={201: {"headers": SET_COOKIE}, **problem_responses(403, 409, 413, 415, 429)},
)
async def register(gw: GatewayDep, body: Credentials, request: Request) -> Response:
    found = credential(request)
    guest_token = found.token if found is not None and found.is_guest else ""
    answer = await gw.clients.call(
        ACCOUNTS,
        "Register",
        accounts_pb2.RegisterRequest(
            email=body.email,
            password=body.password,
            guest_token=guest_token,
            client_address=request.state.caller.address,
        ),
        retry=False,
        deadline=gw.settings.password_deadline_seconds,
    )
    if guest_token:
        # The guest's token stops working once the account exists.
        gw.grants.forget(guest_token)
    return _signed_in(request, answer)


@router.post(
    "/v1/sessions",
    status_code=201,
    response_model=SignedIn,
    summary="Log in: a new session for an email and password",
    description="Repeated failures make logins wait (429 with Retry-After).",
    dependencies=[Depends(require_json_body)],
    responses={201: {"headers": SET_COOKIE}, **problem_responses(401, 403, 413, 415, 429)},
)
async def log_in(gw: GatewayDep, body: Credentials, request: Request) -> Response:
    answer = await gw.clients.call(
        ACCOUNTS,
        "Login",
        accounts_pb2.LoginRequest(
            email=body.email, password=body.password, client_address=request.state.caller.address
        ),
        retry=False,
        deadline=gw.settings.password_deadline_seconds,
    )
    return _signed_in(request, answer)


@router.delete(
    "/v1/sessions/current",
    openapi_extra=AUTH_OPTIONAL,
    status_code=204,
    summary="Log out: end the session (or guest) of this token and drop the cookie",
    responses={
        204: {"description": "Ended (also when there was nothing to end)."},
        **problem_responses(401, 403),
    },
)
async def log_out(gw: GatewayDep, request: Request) -> Response:
    found = credential(request)
    if found is not None:
        gw.grants.forget(found.token)
        await gw.clients.call(ACCOUNTS, "Logout", accounts_pb2.LogoutRequest(token=found.token), retry=False)
    drop_cookie(request)
    return with_cookie(request, Response(status_code=204))


@router.get(
    "/v1/me",
    openapi_extra=AUTH_OPTIONAL,
    response_model=Me,
    summary="Who the request stands for, its plan and its quota",
    description="A request without credentials becomes a guest, kept in a cookie.",
    responses=problem_responses(401, 429),
)
async def me(gw: GatewayDep, request: Request) -> Response:
    async def look_up(token: str):
        return await asyncio.gather(
            gw.clients.call(ACCOUNTS, "Authenticate", accounts_pb2.AuthenticateRequest(token=token)),
            gw.clients.call(ACCOUNTS, "GetQuota", accounts_pb2.GetQuotaRequest(token=token)),
        )

    who, quota = await as_principal(request, gw, look_up)
    body = {
        "principal": convert.principal(who.principal),
        "plan": quota.plan,
        "quota": convert.quota(quota),
    }
    return with_cookie(request, json_response(body, headers={"Cache-Control": "private, no-store"}))
