"""The gRPC adapter of the assistant: protobuf in, the engine (or the consultations) called, protobuf out.

Every question is checked first (bad input is never counted), then authorized and counted against the
caller's plan (the injected `authorize`, A2's metering), then answered.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
from medcode.assistant.v1 import assistant_pb2 as pb
from medcode.assistant.v1 import assistant_pb2_grpc

from services.assistant.answers import Answer
from services.assistant.catalog_client import ENUM_TO_SYSTEM, SYSTEM_TO_ENUM
from services.assistant.engine import Assistant
from services.assistant.errors import AssistantError, InvalidQuestion, LookupUnavailable
from services.assistant.metering import caller_credentials
from services.assistant.questions import validate_context_code, validate_question
from services.common.errors import domain_status

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AssistantService"].full_name
DOMAIN = "assistant.medcode"
STATUS_OF: dict[type[AssistantError], grpc.StatusCode] = {
    InvalidQuestion: grpc.StatusCode.INVALID_ARGUMENT,
    LookupUnavailable: grpc.StatusCode.UNAVAILABLE,
}
INTENT_TO_ENUM = {name.removeprefix("INTENT_").lower(): value for name, value in pb.Intent.items()}

# (session token, request id) -> a grant, or a typed refusal that knows its status (`status()`).
Authorize = Callable[[str, str], Awaitable[object]]


def _context_system(value: int) -> str:
    if value and value not in ENUM_TO_SYSTEM:
        raise InvalidQuestion(
            "context_system", f"context_system {value} is not a code system", "UNKNOWN_SYSTEM"
        )
    return ENUM_TO_SYSTEM.get(value, "")


def citation_messages(answer: Answer) -> list[pb.Citation]:
    return [
        pb.Citation(system=SYSTEM_TO_ENUM[c.system], code=c.code, title=c.title) for c in answer.citations
    ]


class AssistantServicer(assistant_pb2_grpc.AssistantServiceServicer):
    def __init__(self, assistant: Assistant, authorize: Authorize, consultations=None) -> None:
        self.assistant = assistant
        self.authorize = authorize
        # A2's services.assistant.consultations.Consultations; None where the assistant runs without
        # its database (then the consultation RPCs answer UNIMPLEMENTED).
        self.consultations = consultations

    async def _answer(self, request, context) -> Answer:
        question = validate_question(request.question)
        context_code = validate_context_code(request.context_code)
        system = _context_system(request.context_system)
        credentials = caller_credentials(context)
        await self.authorize(credentials.token, credentials.request_id)
        return await self.assistant.answer(
            question,
            conversation_id=request.conversation_id,
            context_code=context_code,
            context_system=system,
        )

    async def Ask(self, request, context):
        answer = await self._answer(request, context)
        return pb.AskResponse(
            answer=answer.markdown,
            citations=citation_messages(answer),
            intent=INTENT_TO_ENUM[answer.intent],
            conversation_id=answer.conversation_id,
            follow_ups=answer.follow_ups,
        )

    async def AskStream(self, request, context) -> AsyncIterator[pb.AskStreamResponse]:
        answer = await self._answer(request, context)
        async for chunk in self.assistant.answer_chunks(answer):
            yield pb.AskStreamResponse(chunk=chunk)
        yield pb.AskStreamResponse(citations=pb.AskStreamCitations(citations=citation_messages(answer)))
        yield pb.AskStreamResponse(
            done=pb.AskStreamDone(
                intent=INTENT_TO_ENUM[answer.intent],
                conversation_id=answer.conversation_id,
                follow_ups=answer.follow_ups,
            )
        )

    async def SubmitConsultation(self, request, context):
        if self.consultations is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "consultations are not configured here")
        credentials = caller_credentials(context)
        consultation_id = await self.consultations.submit(
            token=credentials.token,
            request_id=credentials.request_id,
            email=request.email,
            question=request.question,
            context_code=request.context_code,
            context_system=request.context_system,
        )
        return pb.SubmitConsultationResponse(consultation_id=consultation_id)

    async def GetConsultation(self, request, context):
        if self.consultations is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "consultations are not configured here")
        from services.assistant.consultations import consultation_message

        credentials = caller_credentials(context)
        record = await self.consultations.get(
            token=credentials.token, consultation_id=request.consultation_id
        )
        return pb.GetConsultationResponse(consultation=consultation_message(record))


async def _abort(context: grpc.aio.ServicerContext, error: Exception, rpc: str) -> None:
    if isinstance(error, AssistantError):
        await context.abort_with_status(domain_status(error, STATUS_OF, DOMAIN))
    # Metering's and consultations' refusals carry the status they answer with.
    status = getattr(error, "status", None)
    if callable(status):
        await context.abort_with_status(status())
    log.exception("unexpected error", extra={"rpc": rpc}, exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error in the assistant service; it is logged")


def _unary(method):
    async def handler(request, context):
        try:
            return await method(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await _abort(context, error, method.__name__)

    handler.__name__ = method.__name__
    return handler


def _streaming(method):
    async def handler(request, context):
        try:
            async for response in method(request, context):
                yield response
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await _abort(context, error, method.__name__)

    handler.__name__ = method.__name__
    return handler


def build_handler(servicer: AssistantServicer) -> grpc.GenericRpcHandler:
    """The service's handlers, each turning typed errors into rich statuses."""
    handlers = {}
    service = pb.DESCRIPTOR.services_by_name["AssistantService"]
    for method in service.methods:
        request_class = getattr(pb, method.input_type.name)
        response_class = getattr(pb, method.output_type.name)
        implementation = getattr(servicer, method.name)
        if method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                _streaming(implementation),
                request_deserializer=request_class.FromString,
                response_serializer=response_class.SerializeToString,
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                _unary(implementation),
                request_deserializer=request_class.FromString,
                response_serializer=response_class.SerializeToString,
            )
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
