"""Problems (RFC 9457): ONE table from gRPC status to HTTP, and the problem+json every error answers with.

Only what a person can act on goes out: the message of a typed error from our own services (their
ErrorInfo domain says it is one), the reason a program branches on, and the trace id. A backend
that is down, slow or failing gets a fixed sentence; its transport details stay in the logs.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from starlette.responses import Response

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# The ErrorInfo domains whose messages are written for the people who sent the request.
OUR_DOMAINS = frozenset({"lookup.medcode", "accounts.medcode"})

# One table from gRPC status to HTTP status (google/rpc/code.proto's own annotations).
HTTP_STATUS_OF: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
DEFAULT_HTTP_STATUS = 500
# A view refused because the plan's (or the address's) views are used up.
QUOTA_REFUSED = 402


def http_status_of(code: grpc.StatusCode) -> int:
    return HTTP_STATUS_OF.get(code, DEFAULT_HTTP_STATUS)


def problem_type(reason: str) -> str:
    """A stable URI per reason: `CODE_NOT_FOUND` → `urn:medcode:problem:code-not-found`."""
    return "urn:medcode:problem:" + reason.lower().replace("_", "-")


def status_title(status: int) -> str:
    return "Client Closed Request" if status == 499 else HTTPStatus(status).phrase


class Problem(Exception):
    """An error answer: HTTP status, a reason a program branches on, a sentence a person acts on."""

    def __init__(
        self,
        status: int,
        reason: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.title = title or status_title(status)
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, trace_id: str) -> dict[str, Any]:
        return {
            "type": problem_type(self.reason),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "reason": self.reason,
            "trace_id": trace_id,
            **self.extensions,
        }

    def response(self, trace_id: str) -> Response:
        return Response(
            json.dumps(self.body(trace_id), ensure_ascii=False, separators=(",", ":")).encode(),
            status_code=self.status,
            media_type=PROBLEM_JSON,
            headers=self.headers,
        )


def invalid(field: str, detail: str, reason: str = "INVALID_ARGUMENT") -> Problem:
    """A 400 naming one field, as the validation errors of the framework are named."""
    return Problem(400, reason, detail, errors=[{"field": field, "detail": detail}])


def _rich_details(error: grpc.aio.AioRpcError) -> tuple[error_details_pb2.ErrorInfo | None, list[dict]]:
    """The ErrorInfo and BadRequest field violations a failed call carries."""
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # details that do not match the status: trust neither
        return None, []
    info, violations = None, []
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = [{"field": v.field, "detail": v.description} for v in bad.field_violations]
    return info, violations


def problem_from_rpc(
    error: grpc.aio.AioRpcError,
    backend: str,
    *,
    retry_after_seconds: int,
    field_names: dict[str, str] | None = None,
) -> Problem:
    """The problem a failed backend call becomes; `field_names` renames gRPC fields to HTTP ones."""
    code = error.code()
    status = http_status_of(code)
    info, violations = _rich_details(error)
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    ours = info is not None and info.domain in OUR_DOMAINS
    # A typed error of ours speaks for itself; a 503 of ours too (a database away: try again).
    if info is not None and ours and (status < 500 or code == grpc.StatusCode.UNAVAILABLE):
        reason, detail = info.reason, error.details() or status_title(status)
        metadata = dict(info.metadata)
        if metadata.get("nearest"):
            extensions["nearest"] = metadata["nearest"].split(",")
        if metadata.get("retry_after_seconds", "").isdigit():
            headers["Retry-After"] = metadata["retry_after_seconds"]
            extensions["retry_after_seconds"] = int(metadata["retry_after_seconds"])
        if violations:
            names = field_names or {}
            extensions["errors"] = [
                {"field": names.get(v["field"], v["field"]), "detail": v["detail"]} for v in violations
            ]
    else:
        reason, detail = _fallback(code, backend, retry_after_seconds)
        if status >= 500:
            log.warning(
                "backend call failed",
                extra={"backend": backend, "grpc_status": code.name, "grpc_details": error.details()},
            )
    if status == 503:
        headers.setdefault("Retry-After", str(retry_after_seconds))
    return Problem(status, reason, detail, headers=headers, **extensions)


def _fallback(code: grpc.StatusCode, backend: str, retry_after_seconds: int) -> tuple[str, str]:
    if code == grpc.StatusCode.UNAVAILABLE:
        return "BACKEND_UNAVAILABLE", (
            f"the {backend} service is not answering: try again in {retry_after_seconds} s"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "BACKEND_TIMEOUT", f"the {backend} service did not answer in time: try again"
    if code == grpc.StatusCode.CANCELLED:
        return "CANCELLED", "the request was cancelled"
    status = http_status_of(code)
    if status < 500:
        return code.name, f"the {backend} service refused the request ({code.name.lower()})"
    return "INTERNAL", f"the {backend} service failed on this request; it is logged: try again later"
