"""CaseConsultant's use cases: submit a consultation (checked, metered, stored with its event), read it.

A consultation is a question answered in the background and mailed. Submitting checks the input
first (bad input is never charged), then counts one question with the accounts service, then
stores the consultation and its ConsultationRequested event in one transaction, so the event exists
exactly when the consultation does. A retry with the same request id finds the consultation it
created. Only the account that submitted a consultation can read it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from medcode.assistant.v1 import assistant_pb2 as pb
from medcode.lookup.v1 import lookup_pb2
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from services.assistant import consultation_store as store
from services.assistant.consultation_store import ConsultationRecord
from services.assistant.errors import InvalidQuestion
from services.assistant.metering import DOMAIN, account_of, authorize_question
from services.assistant.questions import validate_context_code, validate_question
from services.common.errors import rich_status
from services.common.transactions import write_transaction

log = logging.getLogger(__name__)

MAX_EMAIL_LENGTH = 254
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class ConsultationError(Exception):
    """A consultation call refused; `status()` is the rich gRPC status to answer with."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "CONSULTATION_ERROR"

    def __init__(self, message: str, reason: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.reason
        self.field = field

    def status(self) -> grpc.Status:
        return rich_status(
            self.code,
            self.message,
            reason=self.reason,
            domain=DOMAIN,
            metadata={"field": self.field} if self.field else None,
            field_violations={self.field: self.message} if self.field else None,
        )


class InvalidConsultation(ConsultationError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class ConsultationNotFound(ConsultationError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "CONSULTATION_NOT_FOUND"


class ConsultationsUnavailable(ConsultationError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = "DATABASE_UNAVAILABLE"


def checked_question(question: str) -> str:
    """The question as the engine reads it (the same rules as Ask's)."""
    try:
        return validate_question(question)
    except InvalidQuestion as invalid:
        raise InvalidConsultation(invalid.message, invalid.reason, invalid.field) from None


def checked_email(email: str) -> str:
    """The address with its domain in lower-case ASCII (IDNA), or InvalidConsultation saying why."""
    email = email.strip()
    if not email:
        raise InvalidConsultation("email is required: where to mail the answer", "FIELD_REQUIRED", "email")
    local, at, domain = email.rpartition("@")
    bad = InvalidConsultation(
        f"email {email[:60]!r} is not an address such as coder@example.org", "EMAIL_INVALID", "email"
    )
    if not at or len(email) > MAX_EMAIL_LENGTH or len(local) > 64 or not _LOCAL_PART.match(local):
        raise bad
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise bad from None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise bad
    return f"{local}@{domain}"


def checked_context(code: str, system: int) -> tuple[str, int]:
    try:
        code = validate_context_code(code)
    except InvalidQuestion as invalid:
        raise InvalidConsultation(invalid.message, invalid.reason, invalid.field) from None
    if system not in lookup_pb2.CodeSystem.values():
        raise InvalidConsultation(
            f"context_system {system} is not a code system", "INVALID_CONTEXT_CODE", "context_system"
        )
    return code.upper(), system


def checked_consultation_id(consultation_id: str) -> str:
    try:
        return str(uuid.UUID(consultation_id.strip()))
    except ValueError:
        raise InvalidConsultation(
            f"consultation_id {consultation_id[:40]!r} is not a consultation id (the id SubmitConsultation returned)",
            "CONSULTATION_ID_INVALID",
            "consultation_id",
        ) from None


def utc_now() -> datetime:
    return datetime.now(UTC)


class Consultations:
    """Submit and read consultations; `on_submitted` is told after a consultation and its event commit."""

    def __init__(
        self,
        engine: Engine,
        accounts_stub,
        *,
        on_submitted: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.accounts_stub = accounts_stub
        self.on_submitted = on_submitted
        self.clock = clock

    async def submit(
        self,
        *,
        token: str,
        request_id: str,
        email: str,
        question: str,
        context_code: str = "",
        context_system: int = 0,
    ) -> str:
        """Store a consultation to be answered and mailed; its id. Raises ConsultationError or QuestionRefused."""
        email = checked_email(email)
        question = checked_question(question)
        context_code, context_system = checked_context(context_code, context_system)
        grant = await authorize_question(self.accounts_stub, token, request_id, "consultation")

        def work() -> tuple[str, bool]:
            for attempt in (1, 2):
                try:
                    with write_transaction(self.engine) as conn:
                        return store.create(
                            conn,
                            account_id=grant.account_id,
                            request_id=request_id,
                            email=email,
                            question=question,
                            context_code=context_code,
                            context_system=context_system,
                            now=self.clock(),
                        )
                except IntegrityError:
                    # A concurrent retry with the same request id won the insert: read its id.
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        consultation_id, created = await self._on_thread(work)
        if created:
            self.on_submitted()
            log.info("consultation submitted", extra={"consultation_id": consultation_id})
        return consultation_id

    async def get(self, *, token: str, consultation_id: str) -> ConsultationRecord:
        """The caller's consultation; ConsultationNotFound for an id that is not theirs."""
        consultation_id = checked_consultation_id(consultation_id)
        account_id = await account_of(self.accounts_stub, token)
        record = await self._on_thread(lambda: store.read(self.engine, consultation_id))
        if record is None or record.account_id != account_id:
            # Someone else's consultation is as unknown as one that never existed.
            raise ConsultationNotFound(f"no consultation {consultation_id} of yours")
        return record

    async def _on_thread(self, work):
        try:
            return await asyncio.to_thread(work)
        except OperationalError as error:
            log.error("assistant database unavailable", extra={"error": str(error.orig)})
            raise ConsultationsUnavailable(
                "the assistant's database did not answer: try again in a few seconds"
            ) from None


STATUS_MESSAGES = {
    store.QUEUED: pb.CONSULTATION_STATUS_QUEUED,
    store.ANSWERING: pb.CONSULTATION_STATUS_ANSWERING,
    store.ANSWERED: pb.CONSULTATION_STATUS_ANSWERED,
    store.MAILED: pb.CONSULTATION_STATUS_MAILED,
    store.FAILED: pb.CONSULTATION_STATUS_FAILED,
}


def _timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def consultation_message(record: ConsultationRecord) -> pb.Consultation:
    """The protobuf of a stored consultation."""
    return pb.Consultation(
        id=record.id,
        status=STATUS_MESSAGES[record.status],
        question=record.question,
        answer=record.answer or "",
        citations=[pb.Citation(system=c.system, code=c.code, title=c.title) for c in record.citations],
        created_time=_timestamp(record.created_at),
        answered_time=_timestamp(record.answered_at),
        mailed_time=_timestamp(record.mailed_at),
        context_code=record.context_code,
        email=record.email,
        failure_reason=record.failure_reason or "",
    )
