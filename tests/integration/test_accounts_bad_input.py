"""Bad input on every RPC: empty, huge, malformed, unknown — the right status, reason and a clear message."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import grpc
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from medcode.accounts.v1 import accounts_pb2 as pb

from services.common.errors import error_info
from tests.support.accounts_server import ADDRESS, ICD10CM, OPERATOR, PASSWORD, running_accounts, settings

HUGE = "x" * 1_000_000
UNKNOWN_GUEST = "mcg_" + "A" * 43
UNKNOWN_SESSION = "mcs_" + "B" * 43
INVALID = grpc.StatusCode.INVALID_ARGUMENT
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED
WRONG_OPERATOR = (("authorization", "Bearer " + "w" * 40),)


@dataclass(frozen=True)
class Case:
    rpc: str
    request: object
    status: grpc.StatusCode
    reason: str
    says: str
    metadata: tuple = ()


def view(**fields) -> pb.AuthorizeViewRequest:
    base = {
        "token": "{session}",
        "system": ICD10CM,
        "code": "E11.9",
        "request_id": str(uuid.uuid4()),
        "client_address": ADDRESS,
    }
    return pb.AuthorizeViewRequest(**{**base, **fields})


def stamp(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


CASES = [
    Case("CreateGuest", pb.CreateGuestRequest(), INVALID, "FIELD_REQUIRED", "client_address is required"),
    Case(
        "CreateGuest",
        pb.CreateGuestRequest(client_address="not-an-ip"),
        INVALID,
        "CLIENT_ADDRESS_INVALID",
        "IP address",
    ),
    Case(
        "CreateGuest",
        pb.CreateGuestRequest(client_address=HUGE),
        INVALID,
        "CLIENT_ADDRESS_INVALID",
        "IP address",
    ),
    Case("Register", pb.RegisterRequest(password=PASSWORD), INVALID, "FIELD_REQUIRED", "email is required"),
    Case(
        "Register", pb.RegisterRequest(email=HUGE, password=PASSWORD), INVALID, "EMAIL_INVALID", "at most 254"
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana.example.org", password=PASSWORD),
        INVALID,
        "EMAIL_INVALID",
        "name@example.org",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@localhost", password=PASSWORD),
        INVALID,
        "EMAIL_INVALID",
        "domain",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="a b@example.org", password=PASSWORD),
        INVALID,
        "EMAIL_INVALID",
        "space",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@example.org"),
        INVALID,
        "FIELD_REQUIRED",
        "password is required",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@example.org", password="short one"),
        INVALID,
        "PASSWORD_TOO_SHORT",
        "at least 12",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@example.org", password=HUGE),
        INVALID,
        "PASSWORD_TOO_LONG",
        "longer than 256",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@example.org", password="password1234"),
        INVALID,
        "PASSWORD_TOO_COMMON",
        "most common",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@example.org", password="Qwertyuiop2024!"),
        INVALID,
        "PASSWORD_TOO_COMMON",
        "digits or symbols added",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@example.org", password="aaaaaaaaaaaaaaaa"),
        INVALID,
        "PASSWORD_TOO_COMMON",
        "choose another",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="anastasia@example.org", password="anastasia is me!"),
        INVALID,
        "PASSWORD_CONTAINS_EMAIL",
        "name of the email",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@example.org", password=PASSWORD, guest_token="cookie"),
        INVALID,
        "TOKEN_MALFORMED",
        "mcg_",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@example.org", password=PASSWORD, guest_token=UNKNOWN_SESSION),
        INVALID,
        "TOKEN_MALFORMED",
        "session token",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana2@example.org", password=PASSWORD, guest_token=UNKNOWN_GUEST),
        UNAUTHENTICATED,
        "TOKEN_UNKNOWN",
        "create a new guest",
    ),
    Case(
        "Register",
        pb.RegisterRequest(email="ana@example.org", password=PASSWORD, client_address="10.0.0.999"),
        INVALID,
        "CLIENT_ADDRESS_INVALID",
        "IP address",
    ),
    Case("Login", pb.LoginRequest(password=PASSWORD), INVALID, "FIELD_REQUIRED", "email is required"),
    Case("Login", pb.LoginRequest(email=HUGE, password=PASSWORD), INVALID, "EMAIL_INVALID", "at most 254"),
    Case(
        "Login",
        pb.LoginRequest(email="@example.org", password=PASSWORD),
        INVALID,
        "EMAIL_INVALID",
        "name@example.org",
    ),
    Case(
        "Login", pb.LoginRequest(email="ana@example.org"), INVALID, "FIELD_REQUIRED", "password is required"
    ),
    Case(
        "Login",
        pb.LoginRequest(email="ana@example.org", password=HUGE),
        INVALID,
        "PASSWORD_TOO_LONG",
        "longer than 256",
    ),
    Case(
        "Login",
        pb.LoginRequest(email="ana@example.org", password=PASSWORD, client_address="::g"),
        INVALID,
        "CLIENT_ADDRESS_INVALID",
        "IP address",
    ),
    Case("Logout", pb.LogoutRequest(), INVALID, "FIELD_REQUIRED", "token is required"),
    Case("Logout", pb.LogoutRequest(token=HUGE), INVALID, "TOKEN_MALFORMED", "not a medcode token"),
    Case("Logout", pb.LogoutRequest(token="mcs_tooshort"), INVALID, "TOKEN_MALFORMED", "not a medcode token"),
    Case(
        "Logout",
        pb.LogoutRequest(token=UNKNOWN_SESSION),
        UNAUTHENTICATED,
        "TOKEN_UNKNOWN",
        "nothing to log out",
    ),
    Case("Authenticate", pb.AuthenticateRequest(), INVALID, "FIELD_REQUIRED", "token is required"),
    Case(
        "Authenticate", pb.AuthenticateRequest(token=HUGE), INVALID, "TOKEN_MALFORMED", "not a medcode token"
    ),
    Case(
        "Authenticate",
        pb.AuthenticateRequest(token=UNKNOWN_SESSION),
        UNAUTHENTICATED,
        "TOKEN_UNKNOWN",
        "log in again",
    ),
    Case(
        "Authenticate",
        pb.AuthenticateRequest(token=UNKNOWN_GUEST),
        UNAUTHENTICATED,
        "TOKEN_UNKNOWN",
        "create a new guest",
    ),
    Case("AuthorizeView", view(token=""), INVALID, "FIELD_REQUIRED", "token is required"),
    Case("AuthorizeView", view(token=HUGE), INVALID, "TOKEN_MALFORMED", "not a medcode token"),
    Case("AuthorizeView", view(token=UNKNOWN_SESSION), UNAUTHENTICATED, "TOKEN_UNKNOWN", "log in again"),
    Case(
        "AuthorizeView",
        view(system=0),
        INVALID,
        "UNKNOWN_SYSTEM",
        "system is missing: use one of CODE_SYSTEM_ICD10CM",
    ),
    Case("AuthorizeView", view(system=99), INVALID, "UNKNOWN_SYSTEM", "unknown (99)"),
    Case("AuthorizeView", view(code=""), INVALID, "FIELD_REQUIRED", "code is required"),
    Case("AuthorizeView", view(code=HUGE), INVALID, "INVALID_CODE", "at most 32"),
    Case("AuthorizeView", view(code="E11 9;"), INVALID, "INVALID_CODE", "is not a code"),
    Case("AuthorizeView", view(request_id=""), INVALID, "FIELD_REQUIRED", "request_id is required"),
    Case("AuthorizeView", view(request_id=HUGE), INVALID, "REQUEST_ID_INVALID", "1 to 64"),
    Case("AuthorizeView", view(request_id="two words"), INVALID, "REQUEST_ID_INVALID", "a UUID fits"),
    Case(
        "AuthorizeView",
        view(token="{guest}", client_address=""),
        INVALID,
        "FIELD_REQUIRED",
        "required for guests",
    ),
    Case(
        "AuthorizeView",
        view(token="{guest}", client_address="192.0.2.1:443"),
        INVALID,
        "CLIENT_ADDRESS_INVALID",
        "without port",
    ),
    Case("GetQuota", pb.GetQuotaRequest(), INVALID, "FIELD_REQUIRED", "token is required"),
    Case("GetQuota", pb.GetQuotaRequest(token=HUGE), INVALID, "TOKEN_MALFORMED", "not a medcode token"),
    Case(
        "GetQuota",
        pb.GetQuotaRequest(token=UNKNOWN_GUEST),
        UNAUTHENTICATED,
        "TOKEN_UNKNOWN",
        "create a new guest",
    ),
    Case("GetUsage", pb.GetUsageRequest(), DENIED, "OPERATOR_TOKEN_REQUIRED", "authorization: Bearer"),
    Case(
        "GetUsage",
        pb.GetUsageRequest(),
        DENIED,
        "OPERATOR_TOKEN_WRONG",
        "MEDCODE_OPERATOR_TOKEN",
        WRONG_OPERATOR,
    ),
    Case("GetUsage", pb.GetUsageRequest(account_id="42"), INVALID, "ACCOUNT_ID_INVALID", "UUID", OPERATOR),
    Case("GetUsage", pb.GetUsageRequest(account_id=HUGE), INVALID, "ACCOUNT_ID_INVALID", "UUID", OPERATOR),
    Case(
        "GetUsage",
        pb.GetUsageRequest(start_time=stamp(2_000), end_time=stamp(1_000)),
        INVALID,
        "TIME_RANGE_EMPTY",
        "after start_time",
        OPERATOR,
    ),
    Case(
        "GetUsage",
        pb.GetUsageRequest(page_size=-1),
        INVALID,
        "INVALID_ARGUMENT",
        "page_size must be 0..10000",
        OPERATOR,
    ),
    Case(
        "GetUsage",
        pb.GetUsageRequest(page_size=10_001),
        INVALID,
        "INVALID_ARGUMENT",
        "page_size must be 0..10000",
        OPERATOR,
    ),
    Case(
        "GetUsage",
        pb.GetUsageRequest(page_token="garbage!"),
        INVALID,
        "INVALID_ARGUMENT",
        "next_page_token",
        OPERATOR,
    ),
    Case(
        "ChangePlan",
        pb.ChangePlanRequest(email="ana@example.org", plan="pro"),
        DENIED,
        "OPERATOR_TOKEN_REQUIRED",
        "for operators",
    ),
    Case(
        "ChangePlan",
        pb.ChangePlanRequest(email="ana@example.org", plan="pro"),
        DENIED,
        "OPERATOR_TOKEN_WRONG",
        "MEDCODE_OPERATOR_TOKEN",
        WRONG_OPERATOR,
    ),
    Case(
        "ChangePlan",
        pb.ChangePlanRequest(email="ana@example.org", plan="gold"),
        INVALID,
        "PLAN_UNKNOWN",
        "free, pro",
        OPERATOR,
    ),
    Case(
        "ChangePlan",
        pb.ChangePlanRequest(email="ana@example.org", plan="guest"),
        INVALID,
        "PLAN_UNKNOWN",
        "free, pro",
        OPERATOR,
    ),
    Case(
        "ChangePlan",
        pb.ChangePlanRequest(email="ana@example.org", plan=HUGE),
        INVALID,
        "PLAN_UNKNOWN",
        "free, pro",
        OPERATOR,
    ),
    Case(
        "ChangePlan",
        pb.ChangePlanRequest(plan="pro"),
        INVALID,
        "FIELD_REQUIRED",
        "by account_id or by email",
        OPERATOR,
    ),
    Case(
        "ChangePlan",
        pb.ChangePlanRequest(account_id="nope", plan="pro"),
        INVALID,
        "ACCOUNT_ID_INVALID",
        "UUID",
        OPERATOR,
    ),
    Case(
        "ChangePlan",
        pb.ChangePlanRequest(email="nobody-here@example.org", plan="pro"),
        grpc.StatusCode.NOT_FOUND,
        "ACCOUNT_NOT_FOUND",
        "no account with email",
        OPERATOR,
    ),
    Case(
        "ChangePlan",
        pb.ChangePlanRequest(account_id=str(uuid.uuid4()), plan="pro"),
        grpc.StatusCode.NOT_FOUND,
        "ACCOUNT_NOT_FOUND",
        "no account with id",
        OPERATOR,
    ),
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def accounts(tmp_path_factory):
    async with running_accounts(f"sqlite:///{tmp_path_factory.mktemp('bad')}/accounts.db") as harness:
        harness.tokens = {
            "{session}": (await harness.account()).session_token,
            "{guest}": await harness.guest(),
        }
        yield harness


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.rpc}-{c.reason}")
async def test_bad_input_gets_the_right_status_reason_and_message(accounts, case):
    request = type(case.request)()
    request.CopyFrom(case.request)
    if getattr(request, "token", "") in accounts.tokens:
        request.token = accounts.tokens[request.token]

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await getattr(accounts.stub, case.rpc)(request, metadata=case.metadata)

    error = raised.value
    assert error.code() == case.status, error.details()
    info = error_info(error)
    assert (info.reason, info.domain) == (case.reason, "accounts.medcode")
    assert case.says in error.details()
    assert len(error.details()) < 400  # a huge input is never echoed back whole
    if case.status == INVALID:
        (bad_request,) = [
            d for d in rpc_status.from_call(error).details if d.Is(error_details_pb2.BadRequest.DESCRIPTOR)
        ]
        violation = error_details_pb2.BadRequest()
        bad_request.Unpack(violation)
        assert violation.field_violations[0].description == error.details()


async def test_operator_calls_are_refused_when_no_operator_token_is_configured(tmp_path):
    async with running_accounts(f"sqlite:///{tmp_path}/accounts.db", settings(operator_token="")) as accounts:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await accounts.stub.GetUsage(pb.GetUsageRequest(), metadata=OPERATOR)

    assert raised.value.code() == DENIED
    assert error_info(raised.value).reason == "OPERATORS_DISABLED"
    assert "set MEDCODE_OPERATOR_TOKEN" in raised.value.details()
