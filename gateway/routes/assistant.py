"""The assistant over HTTP: ask (whole, or streamed as Server-Sent Events) and consultations by email.

The assistant is for accounts: a request without credentials, or with a guest's, is answered 401
with what to do (register or log in) before any backend is called. The session token goes to the
assistant as `authorization: Bearer` metadata; the assistant counts each question with the accounts
service. This module owns its channel to the assistant (MEDCODE_ASSISTANT_ADDR), opened and closed
with the app through the router's lifespan.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from medcode.assistant.v1 import assistant_pb2 as pb
from medcode.assistant.v1 import assistant_pb2_grpc
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response, StreamingResponse

from gateway import convert
from gateway.clients import CHANNEL_OPTIONS
from gateway.context import Gateway, GatewayDep
from gateway.edge import trace_id_of
from gateway.errors import Problem, http_status_of, problem_from_rpc
from gateway.problems import AUTH_REQUIRED, problem_responses
from gateway.routes.common import json_response, require_json_body, with_cookie
from gateway.schemas import CODE_PATTERN, SystemName
from gateway.security import Credential
from gateway.sessions import WWW_AUTHENTICATE, drop_cookie, required_credential
from services.common import telemetry
from services.common.settings import Settings

log = logging.getLogger(__name__)

ASSISTANT = "assistant"
# Typed errors whose messages are written for the person who asked (the assistant's, and the
# accounts service's it passes on).
SPEAKING_DOMAINS = frozenset({"assistant.medcode", "accounts.medcode"})
# Composing an answer takes longer than a catalog read; a stream may run longer still.
ASK_DEADLINE_SECONDS = 30.0
STREAM_DEADLINE_SECONDS = 60.0
IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:\-]{1,64}$"
INTENT_NAME = {value: name.removeprefix("INTENT_").lower() for name, value in pb.Intent.items() if value}
STATUS_NAME = {
    value: name.removeprefix("CONSULTATION_STATUS_").lower()
    for name, value in pb.ConsultationStatus.items()
    if value
}
ACCOUNT_ACTIONS = [
    {"action": "register", "method": "POST", "href": "/v1/accounts", "description": "a free account"},
    {"action": "log_in", "method": "POST", "href": "/v1/sessions", "description": "if you have one"},
]


@dataclass
class AssistantBackend:
    address: str
    channel: grpc.aio.Channel
    stub: assistant_pb2_grpc.AssistantServiceStub


@asynccontextmanager
async def assistant_channel(app: FastAPI) -> AsyncIterator[None]:
    """The channel to the assistant, for as long as the app serves."""
    gw: Gateway = app.state.gateway
    address = getattr(gw.settings, "assistant_addr", None) or Settings.from_env().assistant_addr
    channel = grpc.aio.insecure_channel(
        address, options=CHANNEL_OPTIONS, interceptors=telemetry.client_interceptors() or None
    )
    app.state.assistant = AssistantBackend(address, channel, assistant_pb2_grpc.AssistantServiceStub(channel))
    try:
        yield
    finally:
        await channel.close(1.0)


router = APIRouter(tags=["assistant"], lifespan=assistant_channel)


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=10_000, examples=["Can I report E11.9 with E11.65?"])
    conversation_id: str = Field(
        "",
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]*$",
        description="From the previous answer, to ask a follow-up (`and with hyperglycemia?`).",
    )
    context_code: str = Field(
        "", max_length=16, pattern=f"({CODE_PATTERN})|^$", description="The code the user is looking at."
    )
    context_system: SystemName | None = None


class ConsultationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, examples=["ana@example.org"])
    question: str = Field(max_length=10_000, examples=["Which code for a torn ACL of the right knee?"])
    context_code: str = Field("", max_length=16, pattern=f"({CODE_PATTERN})|^$")
    context_system: SystemName | None = None


class Citation(BaseModel):
    system: SystemName
    code: str = Field(examples=["E11.65"])
    title: str


class AskAnswer(BaseModel):
    answer: str = Field(description="Markdown.")
    citations: list[Citation] = Field(
        description="Every code the answer relies on; each exists in the catalog."
    )
    intent: str = Field(examples=["code_meaning"])
    conversation_id: str
    follow_ups: list[str]


class ConsultationAccepted(BaseModel):
    consultation_id: str
    status: str = Field(examples=["queued"])
    href: str


class Consultation(BaseModel):
    id: str
    status: str = Field(examples=["queued", "answering", "answered", "mailed", "failed"])
    question: str
    answer: str = Field(description="Markdown; empty until answered.")
    citations: list[Citation]
    context_code: str
    email: str
    created_time: str
    answered_time: str | None
    mailed_time: str | None
    failure_reason: str


def account_credential(request: Request) -> Credential:
    """The request's session token; 401 without one, and for a guest (the assistant is for accounts)."""
    found = required_credential(request)
    if found.is_guest:
        raise Problem(
            401,
            "ACCOUNT_REQUIRED",
            "the assistant is for accounts: register for free (POST /v1/accounts) or log in "
            "(POST /v1/sessions), then ask again",
            headers=WWW_AUTHENTICATE,
            actions=ACCOUNT_ACTIONS,
        )
    return found


def _metadata(credential: Credential, idempotency_key: str | None) -> tuple[tuple[str, str], ...]:
    metadata = [("authorization", f"Bearer {credential.token}")]
    if idempotency_key:
        metadata.append(("x-request-id", idempotency_key))
    return tuple(metadata)


def _violations(error: grpc.aio.AioRpcError) -> list[dict[str, str]]:
    try:
        status = rpc_status.from_call(error)
    except ValueError:
        return []
    found = []
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found += [{"field": v.field, "detail": v.description} for v in bad.field_violations]
    return found


def _info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo | None:
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # details that do not match the status: trust neither
        return None
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def assistant_problem(
    error: grpc.aio.AioRpcError, request: Request, gw: Gateway, credential: Credential
) -> Problem:
    """The problem a failed assistant call becomes: the assistant's own words where it has them."""
    code = error.code()
    status = http_status_of(code)
    info = _info(error)
    if info is None or info.domain not in SPEAKING_DOMAINS or (status >= 500 and status != 503):
        return problem_from_rpc(error, ASSISTANT, retry_after_seconds=gw.settings.retry_after_seconds)
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    metadata = dict(info.metadata)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        headers.update(WWW_AUTHENTICATE)
        if info.reason == "ACCOUNT_REQUIRED":
            extensions["actions"] = ACCOUNT_ACTIONS
        elif credential.source == "cookie":
            drop_cookie(request)  # the session ended: the cookie is no use any more
    elif code == grpc.StatusCode.RESOURCE_EXHAUSTED and metadata.get("resets_at"):
        resets_at = datetime.fromisoformat(metadata["resets_at"])
        seconds = max(1, int((resets_at - datetime.now(UTC)).total_seconds()))
        headers["Retry-After"] = str(seconds)
        extensions.update(
            retry_after_seconds=seconds,
            plan=metadata.get("plan", ""),
            questions_per_day=int(metadata.get("limit", "0") or 0),
            resets_at=resets_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            actions=[
                {"action": "upgrade", "description": "the pro plan has unlimited questions: ask for it"}
            ],
        )
    elif status == 503:
        headers["Retry-After"] = str(gw.settings.retry_after_seconds)
    violations = _violations(error)
    if violations:
        extensions["errors"] = violations
    return Problem(status, info.reason, error.details() or "", headers=headers, **extensions)


def _backend(request: Request) -> AssistantBackend:
    return request.app.state.assistant


def _citations(citations) -> list[dict[str, str]]:
    return [
        {"system": convert.SYSTEM_NAME.get(c.system, ""), "code": c.code, "title": c.title} for c in citations
    ]


def _system(name: SystemName | None) -> int:
    return convert.SYSTEM_ENUM[name.value] if name else 0


IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=IDEMPOTENCY_KEY,
        description="One id per question, the same on retries of it: a retry is counted once.",
    ),
]


@router.post(
    "/v1/assistant/ask",
    openapi_extra=AUTH_REQUIRED,
    response_model=AskAnswer,
    summary="Ask a coding question (accounts; counted per day)",
    description=(
        "A grounded answer from the catalog, in Markdown, with the codes it cites (each exists). "
        "Pass `conversation_id` back to follow up. Each question counts against the plan's questions "
        "per day (UTC); guests are asked to register."
    ),
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(401, 413, 415, 429),
)
async def ask(
    gw: GatewayDep, body: AskBody, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    credential = account_credential(request)
    try:
        answer = await _backend(request).stub.Ask(
            pb.AskRequest(
                question=body.question,
                conversation_id=body.conversation_id,
                context_code=body.context_code,
                context_system=_system(body.context_system),
            ),
            metadata=_metadata(credential, idempotency_key),
            timeout=ASK_DEADLINE_SECONDS,
        )
    except grpc.aio.AioRpcError as error:
        raise assistant_problem(error, request, gw, credential) from None
    payload = {
        "answer": answer.answer,
        "citations": _citations(answer.citations),
        "intent": INTENT_NAME.get(answer.intent, ""),
        "conversation_id": answer.conversation_id,
        "follow_ups": list(answer.follow_ups),
    }
    return with_cookie(request, json_response(payload, headers={"Cache-Control": "no-store"}))


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def _stream_event(message: pb.AskStreamResponse) -> bytes:
    kind = message.WhichOneof("event")
    if kind == "chunk":
        return _event("chunk", {"text": message.chunk})
    if kind == "citations":
        return _event("citations", {"citations": _citations(message.citations.citations)})
    done = message.done
    return _event(
        "done",
        {
            "intent": INTENT_NAME.get(done.intent, ""),
            "conversation_id": done.conversation_id,
            "follow_ups": list(done.follow_ups),
        },
    )


@router.post(
    "/v1/assistant/ask:stream",
    openapi_extra=AUTH_REQUIRED,
    summary="Ask, with the answer streamed as Server-Sent Events (accounts; counted per day)",
    description=(
        '`text/event-stream`: `chunk` events (`{"text"}`, pieces of the Markdown answer), then one '
        "`citations` event, then `done` (`intent`, `conversation_id`, `follow_ups`). A failure before "
        "the first event is an ordinary problem answer; one during the stream is an `error` event "
        "holding the problem."
    ),
    dependencies=[Depends(require_json_body)],
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **problem_responses(401, 413, 415, 429),
    },
)
async def ask_stream(
    gw: GatewayDep, body: AskBody, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    credential = account_credential(request)
    call = _backend(request).stub.AskStream(
        pb.AskStreamRequest(
            question=body.question,
            conversation_id=body.conversation_id,
            context_code=body.context_code,
            context_system=_system(body.context_system),
        ),
        metadata=_metadata(credential, idempotency_key),
        timeout=STREAM_DEADLINE_SECONDS,
    )
    messages = call.__aiter__()
    # The first message decides the answer's status: refusals (401, 429, 400) are plain problems.
    try:
        first = await messages.__anext__()
    except StopAsyncIteration:
        first = None
    except grpc.aio.AioRpcError as error:
        raise assistant_problem(error, request, gw, credential) from None

    async def events() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield _stream_event(first)
            async for message in messages:
                yield _stream_event(message)
        except grpc.aio.AioRpcError as error:
            problem = assistant_problem(error, request, gw, credential)
            yield _event("error", problem.body(trace_id_of(request.scope)))
        finally:
            call.cancel()  # the client went away, or the stream ended: nothing left to wait for

    response = StreamingResponse(
        events(),
        media_type="text/event-stream",
        # No-transform and X-Accel-Buffering: proxies must pass each event on as it comes.
        headers={"Cache-Control": "no-store, no-transform", "X-Accel-Buffering": "no"},
    )
    return with_cookie(request, response)


@router.post(
    "/v1/consultations",
    openapi_extra=AUTH_REQUIRED,
    status_code=202,
    response_model=ConsultationAccepted,
    summary="Submit a question to be answered by email (accounts; counted as a question)",
    description="Answered in the background and mailed to `email`; follow it at `href`.",
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(401, 413, 415, 429),
)
async def submit_consultation(
    gw: GatewayDep, body: ConsultationBody, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    credential = account_credential(request)
    try:
        answer = await _backend(request).stub.SubmitConsultation(
            pb.SubmitConsultationRequest(
                email=body.email,
                question=body.question,
                context_code=body.context_code,
                context_system=_system(body.context_system),
            ),
            metadata=_metadata(credential, idempotency_key),
            timeout=gw.settings.deadline_seconds * 2,
        )
    except grpc.aio.AioRpcError as error:
        raise assistant_problem(error, request, gw, credential) from None
    href = f"/v1/consultations/{answer.consultation_id}"
    payload = {"consultation_id": answer.consultation_id, "status": "queued", "href": href}
    return with_cookie(request, json_response(payload, 202, {"Location": href, "Cache-Control": "no-store"}))


@router.get(
    "/v1/consultations/{consultation_id}",
    openapi_extra=AUTH_REQUIRED,
    response_model=Consultation,
    summary="A consultation you submitted: its status and, once answered, the answer",
    responses=problem_responses(401, 404),
)
async def get_consultation(
    gw: GatewayDep,
    request: Request,
    consultation_id: Annotated[str, Path(max_length=36, pattern=r"^[A-Fa-f0-9\-]{1,36}$")],
) -> Response:
    credential = account_credential(request)
    try:
        answer = await _backend(request).stub.GetConsultation(
            pb.GetConsultationRequest(consultation_id=consultation_id),
            metadata=_metadata(credential, None),
            timeout=gw.settings.deadline_seconds,
        )
    except grpc.aio.AioRpcError as error:
        raise assistant_problem(error, request, gw, credential) from None
    c = answer.consultation
    payload = {
        "id": c.id,
        "status": STATUS_NAME.get(c.status, ""),
        "question": c.question,
        "answer": c.answer,
        "citations": _citations(c.citations),
        "context_code": c.context_code,
        "email": c.email,
        "created_time": convert.timestamp(c.created_time),
        "answered_time": convert.timestamp(c.answered_time) if c.HasField("answered_time") else None,
        "mailed_time": convert.timestamp(c.mailed_time) if c.HasField("mailed_time") else None,
        "failure_reason": c.failure_reason,
    }
    return with_cookie(request, json_response(payload, headers={"Cache-Control": "private, no-store"}))
