"""The gRPC adapter of the accounts service: protobuf in, use cases, protobuf or a status out."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.lookup.v1 import lookup_pb2

from services.accounts.errors import (
    AccountNotFound,
    AccountsError,
    EmailTaken,
    InvalidArgument,
    LoginThrottled,
    NotAuthenticated,
    NotOperator,
    Unavailable,
)
from services.accounts.questions import QuestionDecision
from services.accounts.quota import ViewDecision
from services.accounts.registration import AccountRecord
from services.accounts.sessions import Principal
from services.accounts.usage import UsageFilter
from services.accounts.use_cases import Accounts, SignedIn
from services.common.errors import domain_error_handler

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AccountsService"].full_name
DOMAIN = "accounts.medcode"
# The metadata key operators send their token in, as `Bearer <token>`.
OPERATOR_METADATA = "authorization"

# One table from domain error to gRPC status.
STATUS_OF: dict[type[AccountsError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotAuthenticated: grpc.StatusCode.UNAUTHENTICATED,
    EmailTaken: grpc.StatusCode.ALREADY_EXISTS,
    LoginThrottled: grpc.StatusCode.RESOURCE_EXHAUSTED,
    NotOperator: grpc.StatusCode.PERMISSION_DENIED,
    AccountNotFound: grpc.StatusCode.NOT_FOUND,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
}
# Throttled logins also carry RetryInfo and `retry-after` metadata (LoginThrottled.retry_after_seconds).
_with_errors = domain_error_handler(STATUS_OF, DOMAIN, errors=AccountsError, service="accounts", logger=log)

VIEW_REASONS = {
    "GRANTED": pb.VIEW_REASON_GRANTED,
    "ALREADY_GRANTED": pb.VIEW_REASON_ALREADY_GRANTED,
    "QUOTA_EXHAUSTED": pb.VIEW_REASON_QUOTA_EXHAUSTED,
    "ADDRESS_LIMIT_REACHED": pb.VIEW_REASON_ADDRESS_LIMIT_REACHED,
}
QUESTION_REASONS = {
    "GRANTED": pb.QUESTION_REASON_GRANTED,
    "QUOTA_EXHAUSTED": pb.QUESTION_REASON_QUOTA_EXHAUSTED,
}
PRINCIPAL_KINDS = {"guest": pb.PRINCIPAL_KIND_GUEST, "account": pb.PRINCIPAL_KIND_ACCOUNT}
# CODE_SYSTEM_ICD10CM -> icd10cm, the name events and URLs use.
SYSTEM_NAMES = {
    value: name.removeprefix("CODE_SYSTEM_").lower()
    for name, value in lookup_pb2.CodeSystem.items()
    if value != lookup_pb2.CODE_SYSTEM_UNSPECIFIED
}


def system_name(value: int) -> str:
    try:
        return SYSTEM_NAMES[value]
    except KeyError:
        choices = ", ".join(lookup_pb2.CodeSystem.Name(v) for v in SYSTEM_NAMES)
        raise InvalidArgument(
            "system",
            f"system is {'missing' if value == 0 else f'unknown ({value})'}: use one of {choices}",
            "UNKNOWN_SYSTEM",
        ) from None


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _day(day: date) -> Timestamp:
    return _timestamp(datetime.combine(day, time(), tzinfo=UTC))


def _moment(request, field: str) -> datetime | None:
    return getattr(request, field).ToDatetime(tzinfo=UTC) if request.HasField(field) else None


def principal_message(principal: Principal) -> pb.Principal:
    return pb.Principal(
        kind=PRINCIPAL_KINDS[principal.kind],
        id=principal.id,
        plan=principal.plan,
        email=principal.email,
        expire_time=_timestamp(principal.expires_at),
    )


def account_message(account: AccountRecord) -> pb.Account:
    return pb.Account(
        id=account.id, email=account.email, plan=account.plan, create_time=_timestamp(account.created_at)
    )


def _operator_token(context: grpc.aio.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == OPERATOR_METADATA and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


class AccountsServicer:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    async def CreateGuest(self, request: pb.CreateGuestRequest, context) -> pb.CreateGuestResponse:
        token, principal = await self.accounts.create_guest(request.client_address)
        return pb.CreateGuestResponse(guest_token=token, principal=principal_message(principal))

    async def Register(self, request: pb.RegisterRequest, context) -> pb.RegisterResponse:
        signed_in = await self.accounts.register(
            request.email, request.password, request.guest_token, request.client_address
        )
        return pb.RegisterResponse(**self._signed_in(signed_in))

    async def Login(self, request: pb.LoginRequest, context) -> pb.LoginResponse:
        signed_in = await self.accounts.login(request.email, request.password, request.client_address)
        return pb.LoginResponse(**self._signed_in(signed_in))

    @staticmethod
    def _signed_in(signed_in: SignedIn) -> dict:
        return {
            "account": account_message(signed_in.account),
            "session_token": signed_in.session_token,
            "expire_time": _timestamp(signed_in.expires_at),
        }

    async def Logout(self, request: pb.LogoutRequest, context) -> pb.LogoutResponse:
        await self.accounts.logout(request.token)
        return pb.LogoutResponse()

    async def Authenticate(self, request: pb.AuthenticateRequest, context) -> pb.AuthenticateResponse:
        return pb.AuthenticateResponse(
            principal=principal_message(await self.accounts.authenticate(request.token))
        )

    async def AuthorizeView(self, request: pb.AuthorizeViewRequest, context) -> pb.AuthorizeViewResponse:
        decision: ViewDecision = await self.accounts.authorize_view(
            request.token,
            system_name(request.system),
            request.code,
            request.request_id,
            request.client_address,
        )
        return pb.AuthorizeViewResponse(
            allowed=decision.allowed,
            remaining=decision.remaining,
            reason=VIEW_REASONS[decision.reason],
            unlimited=decision.unlimited,
            period_end=_timestamp(decision.period_end),
            plan=decision.plan,
        )

    async def AuthorizeQuestion(
        self, request: pb.AuthorizeQuestionRequest, context
    ) -> pb.AuthorizeQuestionResponse:
        decision: QuestionDecision = await self.accounts.authorize_question(
            request.token, request.request_id, request.intent
        )
        return pb.AuthorizeQuestionResponse(
            allowed=decision.allowed,
            reason=QUESTION_REASONS[decision.reason],
            remaining=decision.remaining,
            unlimited=decision.unlimited,
            limit=decision.limit,
            period_end=_timestamp(decision.period_end),
            plan=decision.plan,
            account_id=decision.account_id,
        )

    async def GetQuota(self, request: pb.GetQuotaRequest, context) -> pb.GetQuotaResponse:
        quota = await self.accounts.get_quota(request.token)
        return pb.GetQuotaResponse(
            plan=quota.plan.name,
            limit=quota.plan.views or 0,
            used=quota.used,
            remaining=quota.plan.remaining(quota.used),
            unlimited=quota.plan.unlimited,
            period_start=_timestamp(quota.period.start),
            period_end=_timestamp(quota.period.end),
        )

    async def GetUsage(self, request: pb.GetUsageRequest, context) -> pb.GetUsageResponse:
        page = await self.accounts.usage(
            _operator_token(context),
            UsageFilter(
                request.account_id or None, _moment(request, "start_time"), _moment(request, "end_time")
            ),
            request.page_size,
            request.page_token,
        )
        return pb.GetUsageResponse(
            rows=[
                pb.UsageRow(
                    day=_day(row.day),
                    principal_kind=PRINCIPAL_KINDS.get(row.principal_kind, pb.PRINCIPAL_KIND_UNSPECIFIED),
                    principal_id=row.principal_id,
                    page_views=row.page_views,
                    registrations=row.registrations,
                    questions=row.questions,
                )
                for row in page.rows
            ],
            totals=pb.UsageTotals(
                page_views=page.totals.page_views,
                registrations=page.totals.registrations,
                questions=page.totals.questions,
            ),
            next_page_token=page.next_page_token,
        )

    async def ChangePlan(self, request: pb.ChangePlanRequest, context) -> pb.ChangePlanResponse:
        account, previous = await self.accounts.change_plan(
            _operator_token(context), request.account_id, request.email, request.plan
        )
        return pb.ChangePlanResponse(account=account_message(account), previous_plan=previous)


def build_handler(servicer: AccountsServicer) -> grpc.GenericRpcHandler:
    handlers = {}
    for method in pb.DESCRIPTOR.services_by_name["AccountsService"].methods:
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            _with_errors(getattr(servicer, method.name)),
            request_deserializer=getattr(pb, method.input_type.name).FromString,
            response_serializer=getattr(pb, method.output_type.name).SerializeToString,
        )
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
