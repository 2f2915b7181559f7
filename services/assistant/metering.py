"""Questions are metered by the accounts service: one AuthorizeQuestion before each answer.

The assistant never counts anything itself. `authorize_question` asks the accounts service (over
gRPC) to grant one question against the account's plan, and turns each refusal into a typed error
that carries the status the assistant answers with (`error.status()`), so that a handler does
`await context.abort_with_status(error.status())`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc
from medcode.accounts.v1 import accounts_pb2 as accounts_pb
from medcode.accounts.v1 import accounts_pb2_grpc

from services.common.errors import error_info, rich_status

DOMAIN = "assistant.medcode"
# The metadata the assistant's callers send: `authorization: Bearer <session token>`, and an
# optional request id that makes a retry count once.
AUTHORIZATION_METADATA = "authorization"
REQUEST_ID_METADATA = "x-request-id"
# How long a question may wait for the accounts service before the assistant says it is away.
ACCOUNTS_DEADLINE_SECONDS = 3.0

ACCOUNT_REQUIRED = "ACCOUNT_REQUIRED"
QUESTION_QUOTA_EXHAUSTED = "QUESTION_QUOTA_EXHAUSTED"
ACCOUNTS_UNAVAILABLE = "ACCOUNTS_UNAVAILABLE"


@dataclass(frozen=True)
class QuestionGrant:
    """One question granted: who asks, on which plan, and what is left today."""

    account_id: str
    plan: str
    remaining: int
    unlimited: bool
    limit: int
    # The first instant of the next UTC day, when the count starts again.
    resets_at: datetime
    request_id: str


class QuestionRefused(Exception):
    """The question may not be answered; `status()` is the assistant's answer to its caller."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "QUESTION_REFUSED"

    def __init__(
        self, message: str, *, reason: str | None = None, code: grpc.StatusCode | None = None, **metadata
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.reason
        self.code = code or self.code
        self.metadata: dict[str, str] = {k: str(v) for k, v in metadata.items() if v is not None}

    def status(self) -> grpc.Status:
        return rich_status(self.code, self.message, reason=self.reason, domain=DOMAIN, metadata=self.metadata)


class AccountRequired(QuestionRefused):
    """No token, a guest's token: the assistant is for accounts."""

    code = grpc.StatusCode.UNAUTHENTICATED
    reason = ACCOUNT_REQUIRED


class NotSignedIn(QuestionRefused):
    """The session token is unknown, expired, revoked or malformed: sign in again."""

    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "SESSION_INVALID"


class QuestionsExhausted(QuestionRefused):
    """The plan's questions for today (UTC) are used up; `resets_at` says when more come."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = QUESTION_QUOTA_EXHAUSTED

    def __init__(self, plan: str, limit: int, resets_at: datetime) -> None:
        super().__init__(
            f"the {plan} plan's {limit} questions for today are used up: more from "
            f"{resets_at:%Y-%m-%d %H:%M} UTC, or move to a plan with more questions",
            plan=plan,
            limit=limit,
            resets_at=resets_at.isoformat(timespec="seconds"),
        )
        self.plan, self.limit, self.resets_at = plan, limit, resets_at


class MeteringUnavailable(QuestionRefused):
    """The accounts service did not answer in time; the question was not counted (or it is, once)."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = ACCOUNTS_UNAVAILABLE


@dataclass
class CallerCredentials:
    """What the caller's metadata says: its session token and the request id of this question."""

    token: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def caller_credentials(context: grpc.aio.ServicerContext) -> CallerCredentials:
    """The bearer token and request id of a call (a fresh id when none is sent); AccountRequired without a token."""
    token, request_id = "", ""
    for key, value in context.invocation_metadata() or ():
        if not isinstance(value, str):
            continue
        if key == AUTHORIZATION_METADATA:
            scheme, _, rest = value.strip().partition(" ")
            token = rest.strip() if scheme.lower() == "bearer" else ""
        elif key == REQUEST_ID_METADATA:
            request_id = value.strip()
    if not token:
        raise AccountRequired(
            "the assistant is for accounts: sign in (or register, it is free) and send the session "
            "token as `authorization: Bearer <token>`"
        )
    return CallerCredentials(token, request_id) if request_id else CallerCredentials(token)


def _refusal(error: grpc.aio.AioRpcError) -> QuestionRefused:
    """The typed refusal for a failed AuthorizeQuestion or Authenticate call."""
    code = error.code()
    info = error_info(error)
    reason = info.reason if info is not None else ""
    message = error.details() or ""
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return MeteringUnavailable(
            "the accounts service did not answer, so the question cannot be authorized: try again shortly"
        )
    if code == grpc.StatusCode.UNAUTHENTICATED and reason == ACCOUNT_REQUIRED:
        return AccountRequired(message)
    if code == grpc.StatusCode.UNAUTHENTICATED or (
        code == grpc.StatusCode.INVALID_ARGUMENT
        and info is not None
        and info.metadata.get("field") == "token"
    ):
        return NotSignedIn(message or "sign in again", reason=reason or None)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return QuestionRefused(message, reason=reason or "INVALID_ARGUMENT", code=code)
    # Anything else is the accounts service's own fault; nothing of it is the caller's to act on.
    return QuestionRefused(
        "the accounts service failed to authorize the question; it is logged there",
        reason="ACCOUNTS_FAILED",
        code=grpc.StatusCode.INTERNAL,
    )


async def authorize_question(
    accounts_stub: accounts_pb2_grpc.AccountsServiceStub,
    token: str,
    request_id: str,
    intent: str = "",
    *,
    deadline_seconds: float = ACCOUNTS_DEADLINE_SECONDS,
) -> QuestionGrant:
    """Count one question against the account's plan, or raise a QuestionRefused subclass.

    `intent` (`code_meaning`, ...) only goes to the meter. The same `request_id` again (a retry)
    gets the same answer and counts once.
    """
    if not token:
        raise AccountRequired("the assistant is for accounts: sign in, or register (it is free)")
    try:
        answer = await accounts_stub.AuthorizeQuestion(
            accounts_pb.AuthorizeQuestionRequest(token=token, request_id=request_id, intent=intent),
            timeout=deadline_seconds,
        )
    except grpc.aio.AioRpcError as error:
        raise _refusal(error) from None
    resets_at = answer.period_end.ToDatetime(tzinfo=UTC)
    if not answer.allowed:
        raise QuestionsExhausted(answer.plan, int(answer.limit), resets_at)
    return QuestionGrant(
        account_id=answer.account_id,
        plan=answer.plan,
        remaining=int(answer.remaining),
        unlimited=answer.unlimited,
        limit=int(answer.limit),
        resets_at=resets_at,
        request_id=request_id,
    )


async def account_of(
    accounts_stub: accounts_pb2_grpc.AccountsServiceStub,
    token: str,
    *,
    deadline_seconds: float = ACCOUNTS_DEADLINE_SECONDS,
) -> str:
    """The id of the account a session token stands for (nothing counted); AccountRequired for a guest."""
    try:
        answer = await accounts_stub.Authenticate(
            accounts_pb.AuthenticateRequest(token=token), timeout=deadline_seconds
        )
    except grpc.aio.AioRpcError as error:
        raise _refusal(error) from None
    if answer.principal.kind != accounts_pb.PRINCIPAL_KIND_ACCOUNT:
        raise AccountRequired("the assistant is for accounts: register (it is free) or log in")
    return answer.principal.id
