"""The gateway's edge, one pure ASGI middleware: who is calling, size limits, cross-site refusals, metrics.

Runs before routing for every HTTP request (routes added later are covered too) and stores what it
learnt as `request.state.caller`. Pure ASGI rather than BaseHTTPMiddleware: it sits on every
request's path and must cost microseconds.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from starlette.requests import cookie_parser

from gateway import metrics
from gateway.errors import Problem
from gateway.security import (
    SESSION_COOKIE,
    came_over_tls,
    client_address,
    cookie_token,
    cross_site_refusal,
)
from gateway.settings import GatewaySettings
from services.common.telemetry import current_trace_id

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Caller:
    """What the edge learnt of a request, for the routes."""

    address: str
    over_tls: bool
    has_authorization: bool
    authorization: str | None
    cookie_token: str | None
    fallback_trace_id: str


class BodyTooLarge(Exception):
    """The body grew past the limit while being read (a chunked body has no Content-Length)."""


def trace_id_of(scope) -> str:
    """The request's trace id: the current span's, else the caller's traceparent, else one of its own."""
    current = current_trace_id()
    if current:
        return current
    caller = scope.get("state", {}).get("caller")
    return caller.fallback_trace_id if caller else secrets.token_hex(16)


class Edge:
    def __init__(self, app, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        route = metrics.UNMATCHED

        async def send_and_note_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            refusal = self._admit(scope)
            if refusal is not None:
                await self._answer(scope, refusal, send_and_note_status)
                return
            await self.app(scope, self._bounded(scope, receive), send_and_note_status)
        finally:
            matched = scope.get("route")
            if matched is not None:
                route = getattr(matched, "path", metrics.UNMATCHED)
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            metrics.observe(method, route, status, time.perf_counter() - started)

    def _admit(self, scope) -> Problem | None:
        """Learn who calls; a Problem when the request is refused before any route sees it."""
        settings = self.settings
        header_bytes = 0
        authorization = cookie = origin = fetch_site = forwarded_for = forwarded_proto = None
        host = traceparent = content_length = None
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value)
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"cookie":
                cookie = value.decode("latin-1") if cookie is None else f"{cookie}; {value.decode('latin-1')}"
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"sec-fetch-site":
                fetch_site = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                # Several headers are one list, in order (RFC 9110, 5.3).
                part = value.decode("latin-1")
                forwarded_for = part if forwarded_for is None else f"{forwarded_for},{part}"
            elif name == b"x-forwarded-proto":
                forwarded_proto = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value
        if header_bytes > settings.max_header_bytes:
            return Problem(
                431,
                "HEADERS_TOO_LARGE",
                f"the request's headers exceed {settings.max_header_bytes} bytes",
            )
        peer = scope["client"][0] if scope.get("client") else ""
        over_tls = came_over_tls(scope.get("scheme", "http"), peer, forwarded_proto, settings.trusted_proxies)
        token = cookie_token(cookie_parser(cookie).get(SESSION_COOKIE)) if cookie else None
        matched = TRACEPARENT.match(traceparent) if traceparent else None
        scope.setdefault("state", {})["caller"] = Caller(
            address=client_address(peer, forwarded_for, settings.trusted_proxies),
            over_tls=over_tls,
            has_authorization=authorization is not None,
            authorization=authorization,
            cookie_token=token,
            fallback_trace_id=matched.group(1) if matched else secrets.token_hex(16),
        )
        refusal = cross_site_refusal(
            scope["method"],
            bearer=authorization is not None,
            has_cookie=token is not None,
            sec_fetch_site=fetch_site,
            origin=origin,
            own_origin=f"{'https' if over_tls else 'http'}://{(host or '').lower()}",
            allowed_origins=settings.allowed_origins,
        )
        if refusal is not None:
            return Problem(403, "CROSS_SITE_REQUEST_REFUSED", refusal)
        if content_length is not None and scope["method"] in BODY_METHODS:
            if not content_length.isdigit():
                return Problem(400, "CONTENT_LENGTH_INVALID", "Content-Length is not a number of bytes")
            if int(content_length) > settings.max_body_bytes:
                return body_too_large(settings.max_body_bytes)
        return None

    def _bounded(self, scope, receive):
        limit = self.settings.max_body_bytes
        received = 0

        async def receive_within_limit():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        return receive_within_limit

    async def _answer(self, scope, problem: Problem, send) -> None:
        response = problem.response(trace_id_of(scope))
        await response(scope, _no_body, send)


def body_too_large(limit: int) -> Problem:
    return Problem(413, "BODY_TOO_LARGE", f"the request body exceeds {limit} bytes")


async def _no_body():
    return {"type": "http.request", "body": b"", "more_body": False}
