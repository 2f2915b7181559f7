"""Registration, login, sessions and login throttling, against a real accounts server on SQLite.

Tests that need time to pass give the service a clock they move; one test waits on the wall clock
to show the real one is used the same way.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.events.v1 import events_pb2
from sqlalchemy import select

from services.accounts.tables import outbox, sessions
from services.common.errors import error_info
from tests.support.accounts_server import ADDRESS, PASSWORD, Clock, running_accounts, settings


def sqlite_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sessions')}/accounts.db"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def accounts(tmp_path_factory):
    async with running_accounts(sqlite_url(tmp_path_factory)) as harness:
        yield harness


async def failure(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


def email() -> str:
    return f"coder-{uuid.uuid4().hex[:8]}@example.org"


async def test_register_normalises_the_email_and_signs_in(accounts):
    address = email()

    registered = await accounts.stub.Register(
        pb.RegisterRequest(email=f"  {address.upper()} ", password=PASSWORD, client_address=ADDRESS)
    )
    who = await accounts.stub.Authenticate(pb.AuthenticateRequest(token=registered.session_token))

    assert registered.account.email == address and registered.account.plan == "free"
    assert registered.session_token.startswith("mcs_")
    assert who.principal.kind == pb.PRINCIPAL_KIND_ACCOUNT
    assert (who.principal.id, who.principal.email, who.principal.plan) == (
        registered.account.id,
        address,
        "free",
    )
    with accounts.engine.connect() as conn:
        stored = conn.execute(select(sessions.c.token_hash)).scalars().all()
    assert registered.session_token not in stored  # only its hash is kept


async def test_an_email_registered_twice_is_already_exists_whatever_its_case(accounts):
    address = email()
    await accounts.account(email=address)

    error = await failure(accounts.account(email=f" {address.title()}"))

    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_info(error).reason == "EMAIL_TAKEN" and "log in" in error.details()


async def test_concurrent_registrations_of_one_email_make_one_account(accounts):
    address = email()

    results = await asyncio.gather(
        *(accounts.account(email=address) for _ in range(5)), return_exceptions=True
    )

    assert sum(isinstance(r, pb.RegisterResponse) for r in results) == 1
    assert all(
        r.code() == grpc.StatusCode.ALREADY_EXISTS for r in results if isinstance(r, grpc.aio.AioRpcError)
    )
    assert accounts.count("select count(*) from accounts where email = :e", e=address) == 1


async def test_a_guest_that_registers_becomes_the_account(accounts):
    guest = await accounts.guest()
    guest_id = (await accounts.stub.Authenticate(pb.AuthenticateRequest(token=guest))).principal.id

    registered = await accounts.stub.Register(
        pb.RegisterRequest(email=email(), password=PASSWORD, guest_token=guest)
    )
    error = await failure(accounts.stub.Authenticate(pb.AuthenticateRequest(token=guest)))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and error_info(error).reason == "GUEST_REGISTERED"
    with accounts.engine.connect() as conn:
        payloads = conn.execute(
            select(outbox.c.payload).where(outbox.c.subject == "medcode.accounts.registered.v1")
        ).scalars()
        events = [events_pb2.AccountRegistered.FromString(p) for p in payloads]
    (event,) = [e for e in events if e.account_id == registered.account.id]
    assert (event.from_guest_id, event.plan) == (guest_id, "free")


async def test_each_login_gives_a_new_token_and_logout_revokes_only_that_one(accounts):
    registered = await accounts.account(email=(address := email()))

    first = await accounts.stub.Login(
        pb.LoginRequest(email=address, password=PASSWORD, client_address=ADDRESS)
    )
    second = await accounts.stub.Login(pb.LoginRequest(email=address.upper(), password=PASSWORD))
    await accounts.stub.Logout(pb.LogoutRequest(token=first.session_token))
    await accounts.stub.Logout(pb.LogoutRequest(token=first.session_token))  # logging out twice is fine

    assert len({registered.session_token, first.session_token, second.session_token}) == 3
    revoked = await failure(accounts.stub.Authenticate(pb.AuthenticateRequest(token=first.session_token)))
    assert (
        revoked.code() == grpc.StatusCode.UNAUTHENTICATED and error_info(revoked).reason == "SESSION_REVOKED"
    )
    assert "log in again" in revoked.details()
    for token in (registered.session_token, second.session_token):
        assert (
            await accounts.stub.Authenticate(pb.AuthenticateRequest(token=token))
        ).principal.email == address
    refused = await failure(accounts.view(first.session_token, "I10"))
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_guest_token_can_be_logged_out(accounts):
    guest = await accounts.guest()

    await accounts.stub.Logout(pb.LogoutRequest(token=guest))

    error = await failure(accounts.stub.GetQuota(pb.GetQuotaRequest(token=guest)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and error_info(error).reason == "SESSION_REVOKED"


async def test_unknown_email_and_wrong_password_get_the_same_answer_in_the_same_time(accounts):
    known = [(await accounts.account()).account.email for _ in range(3)]
    wrong_password, unknown_email = [], []
    answers = set()
    for attempt in range(12):
        for address, timings in ((known[attempt % 3], wrong_password), (email(), unknown_email)):
            started = time.perf_counter()
            error = await failure(
                accounts.stub.Login(pb.LoginRequest(email=address, password="not the right one at all"))
            )
            timings.append(time.perf_counter() - started)
            answers.add(
                (
                    error.code(),
                    error.details(),
                    error_info(error).reason,
                    tuple(error_info(error).metadata.items()),
                )
            )

    assert answers == {
        (grpc.StatusCode.UNAUTHENTICATED, "email or password is wrong", "INVALID_CREDENTIALS", ())
    }
    # Without the dummy hash an unknown email answers ~12x faster (ratio ~0.08); equal work keeps the
    # medians together, with room for a machine busy with other work.
    ratio = statistics.median(unknown_email) / statistics.median(wrong_password)
    assert 0.4 < ratio < 2.5, (statistics.median(unknown_email), statistics.median(wrong_password))


async def test_failed_logins_are_throttled_with_growing_back_off(tmp_path_factory):
    clock = Clock(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    rules = settings(
        login_failures_per_account=3, login_backoff_base_seconds=10, login_backoff_max_seconds=25
    )
    async with running_accounts(sqlite_url(tmp_path_factory), rules, clock) as accounts:
        address = (await accounts.account()).account.email

        def login(password: str):
            return accounts.stub.Login(
                pb.LoginRequest(email=address, password=password, client_address=ADDRESS)
            )

        wrong = [await failure(login("wrong password number one")) for _ in range(3)]
        blocked = await failure(login(PASSWORD))  # even the right password waits
        clock.advance(seconds=10)
        again = await failure(login("wrong password number two"))
        blocked_longer = await failure(login(PASSWORD))
        clock.advance(seconds=20)
        await failure(login("wrong password number three"))
        capped = await failure(login(PASSWORD))
        clock.advance(seconds=25)
        signed_in = await login(PASSWORD)

    assert [e.code() for e in wrong] == [grpc.StatusCode.UNAUTHENTICATED] * 3
    assert blocked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    info = error_info(blocked)
    assert info.reason == "LOGIN_THROTTLED" and info.metadata["retry_after_seconds"] == "10"
    assert info.metadata["retry_at"] == "2026-03-10T09:00:10+00:00" and info.metadata["scope"] == "account"
    assert "try again in 10 s" in blocked.details() and "2026-03-10T09:00:10" in blocked.details()
    assert dict(blocked.trailing_metadata())["retry-after"] == "10"
    retry_info = [
        d for d in rpc_status.from_call(blocked).details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)
    ]
    assert len(retry_info) == 1
    assert again.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(blocked_longer).metadata["retry_after_seconds"] == "20"
    assert error_info(capped).metadata["retry_after_seconds"] == "25"
    assert signed_in.account.email == address


async def test_failed_logins_are_throttled_per_client_address(tmp_path_factory):
    clock = Clock(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    rules = settings(login_failures_per_address=4, login_backoff_base_seconds=30)
    async with running_accounts(sqlite_url(tmp_path_factory), rules, clock) as accounts:
        address = (await accounts.account()).account.email

        def login(who: str, password: str, client: str):
            return accounts.stub.Login(pb.LoginRequest(email=who, password=password, client_address=client))

        # One address guessing at four different emails (none of them reaches the per-account limit).
        for _ in range(4):
            await failure(login(email(), "guessing at random", "203.0.113.66"))
        from_that_address = await failure(login(address, PASSWORD, "203.0.113.66"))
        from_elsewhere = await login(address, PASSWORD, "203.0.113.67")

    assert from_that_address.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_info(from_that_address).metadata["scope"] == "address"
    assert "address" in from_that_address.details()
    assert from_elsewhere.account.email == address


async def test_sessions_expire_when_idle_and_at_their_absolute_lifetime(tmp_path_factory):
    clock = Clock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    rules = settings(session_idle_seconds=600, session_absolute_seconds=1800, guest_lifetime_seconds=3600)
    async with running_accounts(sqlite_url(tmp_path_factory), rules, clock) as accounts:
        active = (await accounts.account()).session_token
        idle = (await accounts.account()).session_token
        guest = await accounts.guest()

        def authenticate(token: str):
            return accounts.stub.Authenticate(pb.AuthenticateRequest(token=token))

        for _ in range(3):  # activity every 9 minutes keeps a session alive, up to its 30 minutes
            clock.advance(minutes=9)
            await authenticate(active)
        idle_expired = await failure(authenticate(idle))
        clock.advance(minutes=9)  # 36 minutes after login
        absolute_expired = await failure(authenticate(active))
        still_a_guest = await authenticate(guest)
        clock.advance(minutes=25)  # the guest's hour is over
        guest_expired = await failure(authenticate(guest))

    assert idle_expired.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(idle_expired).reason == "SESSION_EXPIRED" and "idle" in idle_expired.details()
    assert absolute_expired.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(absolute_expired).reason == "SESSION_EXPIRED"
    assert "maximum lifetime" in absolute_expired.details()
    assert still_a_guest.principal.kind == pb.PRINCIPAL_KIND_GUEST
    assert error_info(guest_expired).reason == "SESSION_EXPIRED" and "new guest" in guest_expired.details()


async def test_an_idle_session_expires_on_the_wall_clock(tmp_path_factory):
    rules = settings(session_idle_seconds=1, session_absolute_seconds=60)
    async with running_accounts(sqlite_url(tmp_path_factory), rules) as accounts:
        token = (await accounts.account()).session_token
        await accounts.stub.Authenticate(pb.AuthenticateRequest(token=token))
        await asyncio.sleep(1.2)
        error = await failure(accounts.stub.Authenticate(pb.AuthenticateRequest(token=token)))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and error_info(error).reason == "SESSION_EXPIRED"


async def test_the_quota_period_ends_at_the_first_instant_of_next_month_utc(tmp_path_factory):
    clock = Clock(datetime(2025, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC))
    async with running_accounts(sqlite_url(tmp_path_factory), settings(), clock) as accounts:
        token = (await accounts.account()).session_token
        december = await accounts.view(token, "J06.9")
        quota_before = await accounts.stub.GetQuota(pb.GetQuotaRequest(token=token))
        clock.advance(seconds=0.5)  # 2026-01-01T00:00:00Z: a new period
        january = await accounts.view(token, "J06.9")
        quota_after = await accounts.stub.GetQuota(pb.GetQuotaRequest(token=token))

    assert december.period_end.ToDatetime(tzinfo=UTC) == datetime(2026, 1, 1, tzinfo=UTC)
    assert quota_before.period_start.ToDatetime(tzinfo=UTC) == datetime(2025, 12, 1, tzinfo=UTC)
    assert (quota_before.used, quota_before.remaining) == (1, 4)
    # The same code in the new month is a new view; the counter starts again.
    assert january.reason == pb.VIEW_REASON_GRANTED and january.remaining == 4
    assert quota_after.period_end.ToDatetime(tzinfo=UTC) == datetime(2026, 2, 1, tzinfo=UTC)
    assert quota_after.used == 1
