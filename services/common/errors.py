"""Rich gRPC errors: a status code, a message a person can act on, and a reason a program can branch on."""

from __future__ import annotations

import logging
import math
from collections import namedtuple
from collections.abc import Awaitable, Callable, Mapping

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

log = logging.getLogger(__name__)

# Trailing metadata telling a client when to come back (whole seconds), like HTTP's Retry-After.
RETRY_AFTER_METADATA = "retry-after"

Handler = Callable[..., Awaitable]


class _RichStatus(namedtuple("_RichStatus", ("code", "details", "trailing_metadata")), grpc.Status):
    """A grpc.Status whose trailing metadata carries more than the packed details."""


def rich_status(
    code: grpc.StatusCode,
    message: str,
    *,
    reason: str,
    domain: str,
    metadata: dict[str, str] | None = None,
    field_violations: dict[str, str] | None = None,
    retry_delay_seconds: float | None = None,
) -> grpc.Status:
    """A grpc.Status carrying google.rpc.ErrorInfo (and BadRequest for invalid fields).

    With `retry_delay_seconds` it also carries RetryInfo and `retry-after` trailing metadata.
    """
    details = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=domain, metadata=metadata or {}))
    details.append(info)
    if field_violations:
        bad_request = any_pb2.Any()
        bad_request.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=name, description=text)
                    for name, text in field_violations.items()
                ]
            )
        )
        details.append(bad_request)
    if retry_delay_seconds is None:
        return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=message, details=details))
    whole, fraction = divmod(retry_delay_seconds, 1)
    retry = any_pb2.Any()
    retry.Pack(
        error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(seconds=int(whole), nanos=round(fraction * 1e9))
        )
    )
    details.append(retry)
    status = rpc_status.to_status(status_pb2.Status(code=code.value[0], message=message, details=details))
    return _RichStatus(
        status.code,
        status.details,
        (*status.trailing_metadata, (RETRY_AFTER_METADATA, str(math.ceil(retry_delay_seconds)))),
    )


def domain_status(error, status_table: Mapping[type, grpc.StatusCode], domain: str) -> grpc.Status:
    """The rich status of a typed domain error: the code its class has in `status_table`.

    A domain error carries `message`, `reason` and `metadata`; one naming an invalid field also
    `field` (BadRequest), one that a client may retry later also `retry_after_seconds` (RetryInfo).
    A class the table does not name is INVALID_ARGUMENT.
    """
    field = getattr(error, "field", None)
    return rich_status(
        status_table.get(type(error), grpc.StatusCode.INVALID_ARGUMENT),
        error.message,
        reason=error.reason,
        domain=domain,
        metadata={key: value for key, value in error.metadata.items() if value},
        field_violations={field: error.message} if field is not None else None,
        retry_delay_seconds=getattr(error, "retry_after_seconds", None),
    )


def domain_error_handler(
    status_table: Mapping[type, grpc.StatusCode],
    domain: str,
    *,
    errors: type[Exception],
    service: str,
    logger: logging.Logger = log,
) -> Callable[[Handler], Handler]:
    """A wrapper for servicer methods: `errors` become rich statuses through `status_table`;
    anything else is INTERNAL, logged to `logger`, with nothing of it sent to the client."""

    def wrap(method: Handler) -> Handler:
        async def handler(request, context: grpc.aio.ServicerContext):
            try:
                return await method(request, context)
            except errors as error:
                await context.abort_with_status(domain_status(error, status_table, domain))
            except Exception:
                logger.exception("unexpected error", extra={"rpc": method.__name__})
                await context.abort(
                    grpc.StatusCode.INTERNAL, f"internal error in the {service} service; it is logged"
                )

        handler.__name__ = method.__name__
        return handler

    return wrap


def error_info(error: grpc.aio.AioRpcError | grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo a failed call carries, if any (for clients that branch on the reason)."""
    status = rpc_status.from_call(error)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None
