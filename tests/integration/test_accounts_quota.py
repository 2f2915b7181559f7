"""AuthorizeView and GetQuota as a specification, on SQLite and on PostgreSQL (when reachable).

Every test talks to a real accounts server on a socket; the numbers checked in the database are
the grants, counters and outbox rows the service wrote.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import uuid
from datetime import UTC, datetime

import grpc
import pytest
import pytest_asyncio
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.events.v1 import events_pb2
from sqlalchemy import select, text

from services.accounts.tables import outbox
from services.common.errors import error_info
from tests.support.accounts_server import (
    OPERATOR,
    postgres_schema,
    postgres_unreachable,
    running_accounts,
)


def fresh_address() -> str:
    """A documentation-range address no other test uses, so per-address limits do not interfere."""
    return str(ipaddress.ip_address("198.18.0.0") + random.randrange(1, 2**17))


def codes(n: int) -> list[str]:
    return [f"E{10 + i // 10}.{i % 10}" for i in range(n)]


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def accounts(request, tmp_path_factory):
    if request.param == "postgres":
        reason = postgres_unreachable()
        if reason:
            pytest.skip(reason)
        with postgres_schema() as url:
            async with running_accounts(url) as harness:
                yield harness
    else:
        async with running_accounts(f"sqlite:///{tmp_path_factory.mktemp('quota')}/accounts.db") as harness:
            yield harness


def page_viewed_events(accounts, principal_id: str) -> list[events_pb2.PageViewed]:
    with accounts.engine.connect() as conn:
        payloads = conn.execute(
            select(outbox.c.payload).where(outbox.c.subject == "medcode.meter.page_viewed.v1")
        ).scalars()
        events = [events_pb2.PageViewed.FromString(p) for p in payloads]
    return [e for e in events if e.principal_id == principal_id]


def grants(accounts, principal_id: str) -> int:
    return accounts.count("select count(*) from view_grants where principal_id = :p", p=principal_id)


async def principal_id(accounts, token: str) -> str:
    return (await accounts.stub.Authenticate(pb.AuthenticateRequest(token=token))).principal.id


async def test_a_guest_gets_exactly_one_view_under_concurrency(accounts):
    address = fresh_address()
    guest = await accounts.guest(address)

    answers = await asyncio.gather(*(accounts.view(guest, code, address=address) for code in codes(50)))

    assert sum(a.allowed for a in answers) == 1
    refused = [a for a in answers if not a.allowed]
    assert {a.reason for a in refused} == {pb.VIEW_REASON_QUOTA_EXHAUSTED}
    guest_id = await principal_id(accounts, guest)
    assert grants(accounts, guest_id) == 1
    assert len(page_viewed_events(accounts, guest_id)) == 1


async def test_a_free_account_gets_exactly_five_views_under_concurrency(accounts):
    account = await accounts.account()

    answers = await asyncio.gather(*(accounts.view(account.session_token, code) for code in codes(50)))

    assert sum(a.allowed for a in answers) == 5
    assert sorted(a.remaining for a in answers if a.allowed) == [0, 1, 2, 3, 4]
    assert grants(accounts, account.account.id) == 5
    events = page_viewed_events(accounts, account.account.id)
    assert len(events) == 5 and {e.plan for e in events} == {"free"}


async def test_the_same_request_id_twice_is_one_grant_with_the_same_answer(accounts):
    account = await accounts.account()
    request_id = str(uuid.uuid4())

    first = await accounts.view(account.session_token, "I10", request_id)
    again = await accounts.view(account.session_token, "i10", request_id)

    assert first.allowed and first.reason == pb.VIEW_REASON_GRANTED and first.remaining == 4
    assert again == first
    assert grants(accounts, account.account.id) == 1
    assert len(page_viewed_events(accounts, account.account.id)) == 1


async def test_a_request_id_replayed_for_another_code_is_refused(accounts):
    account = await accounts.account()
    request_id = str(uuid.uuid4())
    await accounts.view(account.session_token, "I10", request_id)

    # The stored answer was for I10: it must not open J45.909's page.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.view(account.session_token, "J45.909", request_id)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(refused.value).reason == "REQUEST_ID_REUSED"
    assert "new request_id" in refused.value.details()
    assert grants(accounts, account.account.id) == 1
    assert len(page_viewed_events(accounts, account.account.id)) == 1


async def test_concurrent_retries_of_one_request_id_are_one_grant(accounts):
    account = await accounts.account()
    request_id = str(uuid.uuid4())

    answers = await asyncio.gather(
        *(accounts.view(account.session_token, "K21.9", request_id) for _ in range(10))
    )

    assert all(a == answers[0] for a in answers) and answers[0].allowed
    assert grants(accounts, account.account.id) == 1
    assert len(page_viewed_events(accounts, account.account.id)) == 1


async def test_reopening_a_granted_code_is_free_and_publishes_nothing(accounts):
    account = await accounts.account()
    token = account.session_token

    first = await accounts.view(token, "E11.9")
    reopened = await accounts.view(token, "e119")  # the same page, written another way
    concurrent = await asyncio.gather(*(accounts.view(token, "N18.30") for _ in range(10)))

    assert first.reason == pb.VIEW_REASON_GRANTED and first.remaining == 4
    assert reopened.allowed and reopened.reason == pb.VIEW_REASON_ALREADY_GRANTED and reopened.remaining == 4
    assert [a.reason for a in concurrent].count(pb.VIEW_REASON_GRANTED) == 1
    assert all(a.allowed for a in concurrent)
    quota = await accounts.stub.GetQuota(pb.GetQuotaRequest(token=token))
    assert quota.used == 2
    assert len(page_viewed_events(accounts, account.account.id)) == 2


async def test_an_exhausted_quota_refuses_new_codes_but_reopens_granted_ones(accounts):
    account = await accounts.account()
    token = account.session_token
    for code in codes(5):
        assert (await accounts.view(token, code)).allowed

    refused = await accounts.view(token, "Z00.00")
    reopened = await accounts.view(token, codes(5)[0])

    assert not refused.allowed and refused.reason == pb.VIEW_REASON_QUOTA_EXHAUSTED and refused.remaining == 0
    assert reopened.allowed and reopened.reason == pb.VIEW_REASON_ALREADY_GRANTED
    assert grants(accounts, account.account.id) == 5


async def test_guests_are_limited_per_client_address_per_day(accounts):
    address = fresh_address()
    guests = [await accounts.guest(address) for _ in range(6)]

    answers = [await accounts.view(guest, "R51.9", address=address) for guest in guests]
    elsewhere = await accounts.view(guests[-1], "R51.9", address=fresh_address())

    assert [a.allowed for a in answers] == [True] * 5 + [False]
    assert answers[-1].reason == pb.VIEW_REASON_ADDRESS_LIMIT_REACHED
    # The refused guest keeps its own view: the address refused it, not its quota.
    assert elsewhere.allowed and elsewhere.reason == pb.VIEW_REASON_GRANTED


async def test_addresses_of_one_ipv6_64_count_as_one_client(accounts):
    network = ipaddress.ip_network(
        f"2001:db8:{random.randrange(1, 65535):x}:{random.randrange(1, 65535):x}::/64"
    )
    addresses = [str(network[i + 1]) for i in range(6)]
    guests = [await accounts.guest(address) for address in addresses]

    answers = await asyncio.gather(
        *(
            accounts.view(guest, "M54.50", address=address)
            for guest, address in zip(guests, addresses, strict=True)
        )
    )

    assert sum(a.allowed for a in answers) == 5


async def test_get_quota_counts_views_of_the_calendar_month(accounts):
    account = await accounts.account()
    for code in ("I10", "E78.5"):
        await accounts.view(account.session_token, code)

    quota = await accounts.stub.GetQuota(pb.GetQuotaRequest(token=account.session_token))

    now = datetime.now(UTC)
    next_month = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    assert (quota.plan, quota.limit, quota.used, quota.remaining, quota.unlimited) == ("free", 5, 2, 3, False)
    assert quota.period_start.ToDatetime(tzinfo=UTC) == datetime(now.year, now.month, 1, tzinfo=UTC)
    assert quota.period_end.ToDatetime(tzinfo=UTC) == next_month


async def test_a_guest_quota_is_one_view(accounts):
    guest = await accounts.guest(fresh_address())

    quota = await accounts.stub.GetQuota(pb.GetQuotaRequest(token=guest))

    assert (quota.plan, quota.limit, quota.used, quota.remaining) == ("guest", 1, 0, 1)


async def test_change_plan_from_free_to_pro_gives_unlimited_views(accounts):
    account = await accounts.account()
    token = account.session_token
    for code in codes(5):
        await accounts.view(token, code)
    assert not (await accounts.view(token, "Z99.89")).allowed

    changed = await accounts.stub.ChangePlan(
        pb.ChangePlanRequest(account_id=account.account.id, plan="pro"), metadata=OPERATOR
    )
    answers = await asyncio.gather(*(accounts.view(token, code) for code in codes(40)[5:]))
    quota = await accounts.stub.GetQuota(pb.GetQuotaRequest(token=token))

    assert changed.previous_plan == "free" and changed.account.plan == "pro"
    assert all(a.allowed and a.unlimited and a.plan == "pro" for a in answers)
    assert (quota.plan, quota.unlimited, quota.used) == ("pro", True, 40)
    with accounts.engine.connect() as conn:
        subjects = conn.execute(select(outbox.c.subject, outbox.c.payload)).all()
    plan_changes = [
        events_pb2.PlanChanged.FromString(payload)
        for subject, payload in subjects
        if subject == "medcode.accounts.plan_changed.v1"
    ]
    assert [(e.old_plan, e.new_plan) for e in plan_changes if e.account_id == account.account.id] == [
        ("free", "pro")
    ]

    back = await accounts.stub.ChangePlan(
        pb.ChangePlanRequest(email=account.account.email, plan="free"), metadata=OPERATOR
    )
    assert back.previous_plan == "pro"
    assert not (await accounts.view(token, "Z99.81")).allowed


async def test_a_failed_transaction_writes_neither_the_grant_nor_its_event(accounts):
    account = await accounts.account()
    request_id = str(uuid.uuid4())
    dialect = accounts.engine.dialect.name
    with accounts.engine.begin() as conn:  # the outbox refuses every row from now on
        if dialect == "sqlite":
            conn.execute(
                text(
                    "create trigger refuse_events before insert on outbox begin select raise(abort, 'refused'); end"
                )
            )
        else:
            conn.execute(
                text(
                    "create function refuse_events() returns trigger as $$ begin raise exception 'refused'; end $$ language plpgsql"
                )
            )
            conn.execute(
                text(
                    "create trigger refuse_events before insert on outbox for each row execute function refuse_events()"
                )
            )
    try:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await accounts.view(account.session_token, "I50.9", request_id)
        with pytest.raises(grpc.aio.AioRpcError) as failed_registration:
            await accounts.account(email="never-stored@example.org")
    finally:
        with accounts.engine.begin() as conn:
            conn.execute(text("drop trigger refuse_events" + ("" if dialect == "sqlite" else " on outbox")))
            if dialect != "sqlite":
                conn.execute(text("drop function refuse_events()"))

    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert "SQL" not in failed.value.details() and "refused" not in failed.value.details()
    assert failed_registration.value.code() == grpc.StatusCode.INTERNAL
    assert grants(accounts, account.account.id) == 0
    assert accounts.count("select count(*) from view_requests where request_id = :r", r=request_id) == 0
    assert (await accounts.stub.GetQuota(pb.GetQuotaRequest(token=account.session_token))).used == 0
    assert accounts.count("select count(*) from accounts where email = 'never-stored@example.org'") == 0
    # Nothing was remembered of the failure: the retry is granted, with its event.
    retried = await accounts.view(account.session_token, "I50.9", request_id)
    assert retried.allowed and retried.reason == pb.VIEW_REASON_GRANTED
    assert len(page_viewed_events(accounts, account.account.id)) == 1
    assert error_info(failed.value) is None


async def test_a_page_viewed_event_describes_the_grant(accounts):
    account = await accounts.account()
    request_id = str(uuid.uuid4())

    await accounts.view(account.session_token, "s52.521a", request_id)

    (event,) = page_viewed_events(accounts, account.account.id)
    now = datetime.now(UTC)
    assert event.principal_kind == events_pb2.PRINCIPAL_KIND_ACCOUNT
    assert (event.system, event.code, event.request_id, event.plan) == (
        "icd10cm",
        "S52.521A",
        request_id,
        "free",
    )
    assert event.period_start.ToDatetime(tzinfo=UTC) == datetime(now.year, now.month, 1, tzinfo=UTC)
    with accounts.engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.event_id == event.event_id)).one()
    assert row.event_type == "medcode.events.v1.PageViewed" and row.published_at is None
