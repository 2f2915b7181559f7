"""Credentials of a request, guests minted when first needed, and the session cookie that keeps them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from fastapi import Request
from medcode.accounts.v1 import accounts_pb2

from gateway.clients import ACCOUNTS
from gateway.context import Gateway
from gateway.errors import Problem
from gateway.ratelimit import retry_after
from gateway.security import (
    BadAuthorization,
    Credential,
    bearer_token,
    cleared_cookie,
    cookie_secure,
    session_cookie,
)

T = TypeVar("T")
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="medcode"'}


def credential(request: Request) -> Credential | None:
    """The Bearer token (API clients) or the session cookie's token (browsers); None without either."""
    caller = request.state.caller
    if caller.authorization is not None:
        try:
            return Credential(bearer_token(caller.authorization), "bearer")
        except BadAuthorization as error:
            raise Problem(
                401,
                "BEARER_INVALID",
                str(error),
                headers={"WWW-Authenticate": 'Bearer realm="medcode", error="invalid_token"'},
            ) from None
    if caller.cookie_token:
        return Credential(caller.cookie_token, "cookie")
    return None


def required_credential(request: Request) -> Credential:
    found = credential(request)
    if found is None:
        raise Problem(
            401,
            "NOT_SIGNED_IN",
            "sign in first: register (POST /v1/accounts) or log in (POST /v1/sessions), "
            "then send the token as `Authorization: Bearer <token>` or keep the cookie",
            headers=WWW_AUTHENTICATE,
        )
    return found


def seconds_until(moment: datetime) -> int:
    return int((moment - datetime.now(UTC)).total_seconds())


def keep_in_cookie(request: Request, token: str, expire_time) -> None:
    """Set the session cookie on whatever answers this request (a page or a problem)."""
    secure = cookie_secure(request.app.state.gateway.settings.cookie_secure, request.state.caller.over_tls)
    request.state.set_cookie = session_cookie(
        token, seconds_until(expire_time.ToDatetime(tzinfo=UTC)), secure=secure
    )


def drop_cookie(request: Request) -> None:
    secure = cookie_secure(request.app.state.gateway.settings.cookie_secure, request.state.caller.over_tls)
    request.state.set_cookie = cleared_cookie(secure=secure)


async def mint_guest(request: Request, gw: Gateway) -> Credential:
    """A new guest for this client, kept in the cookie; guests per address are rate-limited."""
    address = request.state.caller.address
    wait = gw.guests_by_address.take(address)
    if wait:
        seconds = retry_after(wait)
        raise Problem(
            429,
            "TOO_MANY_GUESTS",
            f"too many new guests from this address: keep the session cookie, or try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
            retry_after_seconds=seconds,
        )
    answer = await gw.clients.call(
        ACCOUNTS,
        "CreateGuest",
        accounts_pb2.CreateGuestRequest(client_address=address),
        retry=False,
        field_names={"client_address": "X-Forwarded-For"},
    )
    keep_in_cookie(request, answer.guest_token, answer.principal.expire_time)
    return Credential(answer.guest_token, "cookie")


async def as_principal(request: Request, gw: Gateway, work: Callable[[str], Awaitable[T]]) -> T:
    """Run `work(token)` for the request's principal, a new guest when it has none.

    An expired guest cookie is replaced by a new guest; an ended session's cookie is dropped and
    answered 401, so that the person knows to log in again.
    """
    found = credential(request) or await mint_guest(request, gw)
    try:
        return await work(found.token)
    except Problem as problem:
        if problem.status != 401 or found.source != "cookie":
            raise
        if found.is_guest:
            fresh = await mint_guest(request, gw)
            return await work(fresh.token)
        drop_cookie(request)
        raise Problem(
            401,
            problem.reason,
            f"{problem.detail}: log in again (POST /v1/sessions); until then you browse as a guest",
            headers=WWW_AUTHENTICATE,
        ) from None
