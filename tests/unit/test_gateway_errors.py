"""The one table from gRPC status to HTTP, and what a failed backend call tells the client (and what not)."""

from __future__ import annotations

import json

import grpc
import pytest
from grpc.aio import AioRpcError, Metadata

from gateway.errors import PROBLEM_JSON, Problem, http_status_of, problem_from_rpc, problem_type
from services.common.errors import rich_status

# ARCHITECTURE.md, Errors: as google/rpc/code.proto annotates them.
EXPECTED = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "DATA_LOSS": 500,
}


def failed_call(status: grpc.Status | None = None, *, code=None, details: str = "") -> AioRpcError:
    """An AioRpcError as a real failed call raises it, rich details in its trailing metadata."""
    if status is not None:
        return AioRpcError(status.code, Metadata(), Metadata(*status.trailing_metadata), status.details)
    return AioRpcError(code, Metadata(), Metadata(), details)


@pytest.mark.parametrize("name, http", sorted(EXPECTED.items()))
def test_every_status_maps_as_the_architecture_says(name, http):
    assert http_status_of(grpc.StatusCode[name]) == http


def test_an_unknown_code_names_its_nearest_codes_in_the_problem():
    status = rich_status(
        grpc.StatusCode.NOT_FOUND,
        "'E11.99' is not a ICD-10-CM code in this catalog; nearest codes: E11.9",
        reason="CODE_NOT_FOUND",
        domain="lookup.medcode",
        metadata={"nearest": "E11.9,E11.8", "code": "E11.99"},
    )
    problem = problem_from_rpc(failed_call(status), "lookup", retry_after_seconds=5)
    body = problem.body("0af7651916cd43dd8448eb211c80319c")
    assert problem.status == 404
    assert body["reason"] == "CODE_NOT_FOUND"
    assert body["type"] == "urn:medcode:problem:code-not-found"
    assert body["nearest"] == ["E11.9", "E11.8"]
    assert body["detail"].startswith("'E11.99' is not a ICD-10-CM code")
    assert body["trace_id"] == "0af7651916cd43dd8448eb211c80319c"


def test_field_violations_are_named_as_the_route_names_its_parameters():
    status = rich_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "query is empty: type a code, a code prefix or words",
        reason="INVALID_ARGUMENT",
        domain="lookup.medcode",
        field_violations={"query": "query is empty: type a code, a code prefix or words"},
    )
    problem = problem_from_rpc(
        failed_call(status), "lookup", retry_after_seconds=5, field_names={"query": "q"}
    )
    assert problem.status == 400
    assert problem.extensions["errors"] == [
        {"field": "q", "detail": "query is empty: type a code, a code prefix or words"}
    ]


def test_a_backend_that_is_down_gives_503_with_retry_after_and_no_transport_details():
    error = failed_call(
        code=grpc.StatusCode.UNAVAILABLE,
        details="failed to connect to all addresses; last error: ipv4:127.0.0.1:50051: Connection refused",
    )
    problem = problem_from_rpc(error, "lookup", retry_after_seconds=7)
    assert problem.status == 503
    assert problem.headers["Retry-After"] == "7"
    assert problem.reason == "BACKEND_UNAVAILABLE"
    assert "127.0.0.1" not in problem.detail and "ipv4" not in problem.detail
    assert "lookup" in problem.detail


def test_our_database_being_away_is_a_503_that_keeps_its_message():
    status = rich_status(
        grpc.StatusCode.UNAVAILABLE,
        "the accounts database did not answer: try again in a few seconds",
        reason="DATABASE_UNAVAILABLE",
        domain="accounts.medcode",
    )
    problem = problem_from_rpc(failed_call(status), "accounts", retry_after_seconds=5)
    assert (problem.status, problem.reason) == (503, "DATABASE_UNAVAILABLE")
    assert problem.headers["Retry-After"] == "5"


def test_internal_errors_leak_nothing():
    error = failed_call(
        code=grpc.StatusCode.INTERNAL, details="Traceback: sqlite3.OperationalError at line 12"
    )
    problem = problem_from_rpc(error, "accounts", retry_after_seconds=5)
    assert problem.status == 500
    assert "sqlite" not in problem.detail.lower() and "traceback" not in problem.detail.lower()


def test_a_foreign_error_domain_is_not_passed_through():
    status = rich_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "SELECT * FROM secrets failed",
        reason="SOMETHING",
        domain="somewhere.else",
    )
    problem = problem_from_rpc(failed_call(status), "lookup", retry_after_seconds=5)
    assert problem.status == 400
    assert "SELECT" not in problem.detail


def test_throttled_logins_carry_retry_after_from_the_error_info():
    status = rich_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "too many failed logins from this account: try again in 4 s",
        reason="LOGIN_THROTTLED",
        domain="accounts.medcode",
        metadata={"retry_after_seconds": "4"},
    )
    problem = problem_from_rpc(failed_call(status), "accounts", retry_after_seconds=5)
    assert problem.status == 429
    assert problem.headers["Retry-After"] == "4"
    assert problem.extensions["retry_after_seconds"] == 4


def test_a_deadline_exceeded_is_504():
    problem = problem_from_rpc(
        failed_call(code=grpc.StatusCode.DEADLINE_EXCEEDED), "accounts", retry_after_seconds=5
    )
    assert (problem.status, problem.reason) == (504, "BACKEND_TIMEOUT")


def test_the_response_is_problem_json_rfc_9457():
    response = Problem(402, "QUOTA_EXHAUSTED", "used up", remaining=0, plan="guest").response("ab" * 16)
    body = json.loads(response.body)
    assert response.media_type == PROBLEM_JSON
    assert response.status_code == 402
    assert {"type", "title", "status", "detail", "trace_id"} <= set(body)
    assert body["status"] == 402 and body["remaining"] == 0 and body["plan"] == "guest"


def test_problem_types_are_stable_uris():
    assert problem_type("QUOTA_EXHAUSTED") == "urn:medcode:problem:quota-exhausted"
