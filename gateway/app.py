"""The gateway's app factory: routes, the edge, CORS, problem answers for every error, OpenAPI 3.1."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from gateway.clients import GatewayClients
from gateway.context import Gateway
from gateway.edge import BodyTooLarge, Edge, body_too_large, trace_id_of
from gateway.errors import Problem
from gateway.problems import finish_openapi
from gateway.routes import register_routes
from gateway.routes.common import with_cookie
from gateway.settings import GatewaySettings
from services.common import telemetry

log = logging.getLogger(__name__)

DESCRIPTION = """The HTTP API of medcode for front-end teams: search codes (free), open code pages
(metered per plan), browse the hierarchy, crosswalks and clinical categories, check code pairs
(accounts), register and log in. Errors are `application/problem+json` (RFC 9457) with a `reason`
a program can branch on and the request's `trace_id`. See docs/api.md."""


def create_app(
    settings: GatewaySettings | None = None,
    clients: GatewayClients | None = None,
    *,
    finalizers: Sequence[Callable[[], object]] = (),
) -> FastAPI:
    """The ASGI app; `clients` opens its channels when the app starts and closes them when it stops.

    `finalizers` run after the channels are closed (the worker's span exporter, for one).
    """
    settings = settings or GatewaySettings.from_env()
    clients = clients or GatewayClients(settings)
    gw = Gateway(settings, clients)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await clients.open()
        # What exists now (modules, schemas, descriptors) lives as long as the process: out of the
        # collector's sight, full collections stay short and stop showing in the latency tail.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gw.draining = True
            await clients.close()
            for finalize in finalizers:
                finalize()

    app = FastAPI(
        title="medcode API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        # FastAPI's own telemetry would make a span per request, dependency and serialization
        # whenever a tracer provider is set, exported or not (half the throughput of a route), and
        # a second server span beside the instrumentation's: traces come from telemetry.py alone.
        telemetry={
            "tracing": False,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "auto_configure": False,
        },
    )
    app.state.gateway = gw
    register_routes(app)
    _install_problem_handlers(app)
    _install_openapi(app)
    # The last added runs first: CORS outermost (its headers reach every answer), then the edge.
    app.add_middleware(Edge, settings=settings)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "traceparent"],
            expose_headers=["X-Quota-Remaining", "Retry-After"],
            max_age=600,
        )
    # A server span per request when spans are exported (a no-op otherwise).
    telemetry.instrument_fastapi(app)
    return app


def _problem_answer(request: Request, problem: Problem) -> Response:
    return with_cookie(request, problem.response(trace_id_of(request.scope)))


# Friendlier words than a regular expression for the fields people type.
PATTERN_HINTS = {
    "code": "a code is 1 to 16 letters, digits, '.' or '-', such as E11.9",
    "first_code": "a code is 1 to 16 letters, digits, '.' or '-', such as E11.9",
    "second_code": "a code is 1 to 16 letters, digits, '.' or '-', such as E10.9",
    "page_token": "pass next_page_token exactly as it was given",
    "category_id": "a CCSR category id, such as END002",
    "body_system": "a CCSR body system, such as END",
    "idempotency-key": "1 to 64 letters, digits or . _ : - (a UUID fits)",
    "q": "type a code, a code prefix or words",
    "email": "an email address, such as ana@example.org",
}


def _field_of(location: tuple) -> str:
    # ("query", "system", 0) → system; ("body", "email") → email; ("body",) → body.
    if location and location[0] in ("query", "path", "header", "cookie") and len(location) > 1:
        return str(location[1])
    parts = [str(part) for part in location[1:]] or [str(location[0])]
    return ".".join(parts)


def _install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem(request: Request, error: Problem) -> Response:
        return _problem_answer(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, error: RequestValidationError) -> Response:
        errors = []
        for item in error.errors():
            location = tuple(item.get("loc", ()))
            if item.get("type") == "json_invalid":
                errors.append({"field": "body", "detail": "the body is not valid JSON"})
            elif item.get("type") == "extra_forbidden":
                errors.append({"field": _field_of(location), "detail": "unknown field: remove it"})
            else:
                field = _field_of(location)
                hint = PATTERN_HINTS.get(field) if item.get("type") == "string_pattern_mismatch" else None
                errors.append({"field": field, "detail": hint or item.get("msg", "invalid")})
        detail = "; ".join(f"{e['field']}: {e['detail']}" for e in errors[:5]) or "the request is invalid"
        return _problem_answer(request, Problem(400, "INVALID_ARGUMENT", detail, errors=errors))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if isinstance(error.__cause__, BodyTooLarge):
            return _problem_answer(request, body_too_large(app.state.gateway.settings.max_body_bytes))
        reasons = {404: "ROUTE_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        details = {
            404: f"no route {request.url.path}: the routes are listed at /docs",
            405: f"{request.method} is not allowed on {request.url.path}",
        }
        problem = Problem(
            error.status_code,
            reasons.get(error.status_code, "HTTP_ERROR"),
            details.get(error.status_code, str(error.detail)),
            headers=dict(error.headers or {}),
        )
        return _problem_answer(request, problem)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, error: BodyTooLarge) -> Response:
        return _problem_answer(request, body_too_large(app.state.gateway.settings.max_body_bytes))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error", extra={"path": request.url.path})
        return _problem_answer(
            request, Problem(500, "INTERNAL", "the gateway failed on this request; it is logged")
        )


def _install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = finish_openapi(generate())
        return app.openapi_schema

    app.openapi = openapi
