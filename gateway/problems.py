"""The problem+json bodies as pydantic models, and the `responses=` each route declares with them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.errors import PROBLEM_JSON


class FieldError(BaseModel):
    field: str = Field(description="The parameter or body field, as the request names it (`q`, `email`).")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the reason a program branches on and the request's trace id."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:medcode:problem:code-not-found"])
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="What went wrong and what to do, in a sentence.")
    reason: str = Field(examples=["CODE_NOT_FOUND"])
    trace_id: str = Field(description="Quote it when reporting a problem: it finds the request's trace.")
    errors: list[FieldError] | None = Field(None, description="For 400: each field that is wrong.")


class CodeNotFoundProblem(Problem):
    nearest: list[str] | None = Field(None, description="The nearest real codes of the system.")


class Action(BaseModel):
    action: str = Field(examples=["register"])
    description: str
    method: str | None = None
    href: str | None = None


class QuotaProblem(Problem):
    """A code page view refused: the plan's views (or the address's guest views) are used up."""

    remaining: int = Field(0, description="Always 0 here.")
    plan: str = Field(examples=["guest"])
    view_reason: str = Field(examples=["quota_exhausted", "address_limit_reached"])
    period_end: str = Field(
        description="When the plan's views come back.", json_schema_extra={"format": "date-time"}
    )
    actions: list[Action]


class RetryProblem(Problem):
    retry_after_seconds: int | None = None


MODELS: dict[int, type[Problem]] = {402: QuotaProblem, 404: CodeNotFoundProblem, 429: RetryProblem}
DESCRIPTIONS = {
    400: "Invalid input: a path, query or body field is wrong (`errors` names each).",
    401: "No valid credentials: the token is unknown, expired or revoked.",
    402: "The code page view is refused: the plan's views are used up.",
    403: "The principal may not do this (e.g. pair checks are for accounts).",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict (e.g. the email has an account already).",
    413: "The request body is larger than the gateway accepts.",
    415: "The body is not application/json.",
    429: "Too many requests: wait Retry-After seconds.",
    431: "The request line or headers are larger than the gateway accepts.",
    503: "A backend is down or not ready: try again after Retry-After seconds.",
    504: "A backend did not answer within its deadline.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
# What every route can answer besides its own statuses (431 comes from the edge, before routing).
COMMON = (400, 405, 431, 503, 504)


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with its problem model under application/problem+json."""
    answers: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *COMMON}):
        answer: dict[str, Any] = {
            "model": MODELS.get(status, Problem),
            "description": descriptions.get(f"d{status}", DESCRIPTIONS.get(status, "An error.")),
        }
        if status in (429, 503):
            answer["headers"] = RETRY_AFTER
        answers[status] = answer
    return answers


SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The session token register or log in returned (API clients).",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "medcode_session",
        "description": "The session (or guest) cookie the gateway sets (browsers).",
    },
}
# `security` of an operation: credentials required, or optional (`{}`: a guest is made or none needed).
AUTH_REQUIRED = {"security": [{"bearer": []}, {"sessionCookie": []}]}
AUTH_OPTIONAL = {"security": [{"bearer": []}, {"sessionCookie": []}, {}]}


def finish_openapi(openapi: dict[str, Any]) -> dict[str, Any]:
    """FastAPI files every model under application/json; error answers are application/problem+json.

    Also drops the framework's 422 (validation errors answer 400 here) and its unused schemas, and
    declares the two ways to present a token.
    """
    openapi.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for path_item in openapi.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            for status, response in responses.items():
                content = response.get("content")
                if status.isdigit() and int(status) >= 400 and content and "application/json" in content:
                    response["content"] = {PROBLEM_JSON: content["application/json"]}
    schemas = openapi.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return openapi
