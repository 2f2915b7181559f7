import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from medcode.lookup.v1 import lookup_pb2 as _lookup_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PrincipalKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRINCIPAL_KIND_UNSPECIFIED: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_GUEST: _ClassVar[PrincipalKind]
    PRINCIPAL_KIND_ACCOUNT: _ClassVar[PrincipalKind]

class ViewReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VIEW_REASON_UNSPECIFIED: _ClassVar[ViewReason]
    VIEW_REASON_GRANTED: _ClassVar[ViewReason]
    VIEW_REASON_ALREADY_GRANTED: _ClassVar[ViewReason]
    VIEW_REASON_QUOTA_EXHAUSTED: _ClassVar[ViewReason]
    VIEW_REASON_ADDRESS_LIMIT_REACHED: _ClassVar[ViewReason]

class QuestionReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUESTION_REASON_UNSPECIFIED: _ClassVar[QuestionReason]
    QUESTION_REASON_GRANTED: _ClassVar[QuestionReason]
    QUESTION_REASON_QUOTA_EXHAUSTED: _ClassVar[QuestionReason]
PRINCIPAL_KIND_UNSPECIFIED: PrincipalKind
PRINCIPAL_KIND_GUEST: PrincipalKind
PRINCIPAL_KIND_ACCOUNT: PrincipalKind
VIEW_REASON_UNSPECIFIED: ViewReason
VIEW_REASON_GRANTED: ViewReason
VIEW_REASON_ALREADY_GRANTED: ViewReason
VIEW_REASON_QUOTA_EXHAUSTED: ViewReason
VIEW_REASON_ADDRESS_LIMIT_REACHED: ViewReason
QUESTION_REASON_UNSPECIFIED: QuestionReason
QUESTION_REASON_GRANTED: QuestionReason
QUESTION_REASON_QUOTA_EXHAUSTED: QuestionReason

class Principal(_message.Message):
    __slots__ = ("kind", "id", "plan", "email", "expire_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: PrincipalKind
    id: str
    plan: str
    email: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[PrincipalKind, str]] = ..., id: _Optional[str] = ..., plan: _Optional[str] = ..., email: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("id", "email", "plan", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    email: str
    plan: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., email: _Optional[str] = ..., plan: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateGuestRequest(_message.Message):
    __slots__ = ("client_address",)
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    client_address: str
    def __init__(self, client_address: _Optional[str] = ...) -> None: ...

class CreateGuestResponse(_message.Message):
    __slots__ = ("guest_token", "principal")
    GUEST_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    guest_token: str
    principal: Principal
    def __init__(self, guest_token: _Optional[str] = ..., principal: _Optional[_Union[Principal, _Mapping]] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("email", "password", "guest_token", "client_address")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    GUEST_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    guest_token: str
    client_address: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., guest_token: _Optional[str] = ..., client_address: _Optional[str] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("account", "session_token", "expire_time")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    account: Account
    session_token: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., session_token: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("email", "password", "client_address")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    client_address: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., client_address: _Optional[str] = ...) -> None: ...

class LoginResponse(_message.Message):
    __slots__ = ("account", "session_token", "expire_time")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    account: Account
    session_token: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., session_token: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LogoutRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class LogoutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class AuthenticateResponse(_message.Message):
    __slots__ = ("principal",)
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: Principal
    def __init__(self, principal: _Optional[_Union[Principal, _Mapping]] = ...) -> None: ...

class AuthorizeViewRequest(_message.Message):
    __slots__ = ("token", "system", "code", "request_id", "client_address")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    token: str
    system: _lookup_pb2.CodeSystem
    code: str
    request_id: str
    client_address: str
    def __init__(self, token: _Optional[str] = ..., system: _Optional[_Union[_lookup_pb2.CodeSystem, str]] = ..., code: _Optional[str] = ..., request_id: _Optional[str] = ..., client_address: _Optional[str] = ...) -> None: ...

class AuthorizeViewResponse(_message.Message):
    __slots__ = ("allowed", "remaining", "reason", "unlimited", "period_end", "plan")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    remaining: int
    reason: ViewReason
    unlimited: bool
    period_end: _timestamp_pb2.Timestamp
    plan: str
    def __init__(self, allowed: _Optional[bool] = ..., remaining: _Optional[int] = ..., reason: _Optional[_Union[ViewReason, str]] = ..., unlimited: _Optional[bool] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., plan: _Optional[str] = ...) -> None: ...

class GetQuotaRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class GetQuotaResponse(_message.Message):
    __slots__ = ("plan", "limit", "used", "remaining", "unlimited", "period_start", "period_end")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    plan: str
    limit: int
    used: int
    remaining: int
    unlimited: bool
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    def __init__(self, plan: _Optional[str] = ..., limit: _Optional[int] = ..., used: _Optional[int] = ..., remaining: _Optional[int] = ..., unlimited: _Optional[bool] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("account_id", "start_time", "end_time", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class UsageRow(_message.Message):
    __slots__ = ("day", "principal_kind", "principal_id", "page_views", "registrations", "questions")
    DAY_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_KIND_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_VIEWS_FIELD_NUMBER: _ClassVar[int]
    REGISTRATIONS_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    day: _timestamp_pb2.Timestamp
    principal_kind: PrincipalKind
    principal_id: str
    page_views: int
    registrations: int
    questions: int
    def __init__(self, day: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., principal_kind: _Optional[_Union[PrincipalKind, str]] = ..., principal_id: _Optional[str] = ..., page_views: _Optional[int] = ..., registrations: _Optional[int] = ..., questions: _Optional[int] = ...) -> None: ...

class UsageTotals(_message.Message):
    __slots__ = ("page_views", "registrations", "questions")
    PAGE_VIEWS_FIELD_NUMBER: _ClassVar[int]
    REGISTRATIONS_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    page_views: int
    registrations: int
    questions: int
    def __init__(self, page_views: _Optional[int] = ..., registrations: _Optional[int] = ..., questions: _Optional[int] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("rows", "totals", "next_page_token")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[UsageRow]
    totals: UsageTotals
    next_page_token: str
    def __init__(self, rows: _Optional[_Iterable[_Union[UsageRow, _Mapping]]] = ..., totals: _Optional[_Union[UsageTotals, _Mapping]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ChangePlanRequest(_message.Message):
    __slots__ = ("account_id", "email", "plan")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    email: str
    plan: str
    def __init__(self, account_id: _Optional[str] = ..., email: _Optional[str] = ..., plan: _Optional[str] = ...) -> None: ...

class ChangePlanResponse(_message.Message):
    __slots__ = ("account", "previous_plan")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PLAN_FIELD_NUMBER: _ClassVar[int]
    account: Account
    previous_plan: str
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., previous_plan: _Optional[str] = ...) -> None: ...

class AuthorizeQuestionRequest(_message.Message):
    __slots__ = ("token", "request_id", "intent")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_FIELD_NUMBER: _ClassVar[int]
    token: str
    request_id: str
    intent: str
    def __init__(self, token: _Optional[str] = ..., request_id: _Optional[str] = ..., intent: _Optional[str] = ...) -> None: ...

class AuthorizeQuestionResponse(_message.Message):
    __slots__ = ("allowed", "reason", "remaining", "unlimited", "limit", "period_end", "plan", "account_id")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: QuestionReason
    remaining: int
    unlimited: bool
    limit: int
    period_end: _timestamp_pb2.Timestamp
    plan: str
    account_id: str
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[_Union[QuestionReason, str]] = ..., remaining: _Optional[int] = ..., unlimited: _Optional[bool] = ..., limit: _Optional[int] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., plan: _Optional[str] = ..., account_id: _Optional[str] = ...) -> None: ...
