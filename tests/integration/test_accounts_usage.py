"""GetUsage: the operator reads the meter's rows per day and principal, filtered, paged, with totals.

The rows are written here the way the meter writes them (one per day and principal in
meter_usage); the meter itself is tested with NATS in test_meter_*.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from medcode.accounts.v1 import accounts_pb2 as pb
from sqlalchemy import insert

from services.accounts.tables import meter_usage
from tests.support.accounts_server import OPERATOR, postgres_schema, postgres_unreachable, running_accounts

ANA = str(uuid.uuid4())
BEN = str(uuid.uuid4())
GUEST = str(uuid.uuid4())
ROWS = [
    # day, kind, principal, page views, registrations, questions
    (date(2026, 1, 31), "account", ANA, 5, 1, 0),
    (date(2026, 2, 1), "account", ANA, 3, 0, 2),
    (date(2026, 2, 1), "account", BEN, 1, 1, 0),
    (date(2026, 2, 1), "guest", GUEST, 1, 0, 0),
    (date(2026, 2, 2), "account", ANA, 7, 0, 1),
    (date(2026, 3, 1), "account", BEN, 2, 0, 0),
]


def at(*parts: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime(*parts, tzinfo=UTC))
    return stamp


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def accounts(request, tmp_path_factory):
    async def seeded(url: str):
        async with running_accounts(url) as harness:
            with harness.engine.begin() as conn:
                conn.execute(
                    insert(meter_usage),
                    [
                        dict(
                            zip(
                                (
                                    "day",
                                    "principal_kind",
                                    "principal_id",
                                    "page_views",
                                    "registrations",
                                    "questions",
                                ),
                                row,
                                strict=True,
                            )
                        )
                        for row in ROWS
                    ],
                )
            yield harness

    if request.param == "postgres":
        reason = postgres_unreachable()
        if reason:
            pytest.skip(reason)
        with postgres_schema() as url:
            async for harness in seeded(url):
                yield harness
    else:
        async for harness in seeded(f"sqlite:///{tmp_path_factory.mktemp('usage')}/accounts.db"):
            yield harness


def summary(response: pb.GetUsageResponse) -> list[tuple]:
    return [
        (r.day.ToDatetime().date(), pb.PrincipalKind.Name(r.principal_kind), r.principal_id, r.page_views)
        for r in response.rows
    ]


async def test_every_row_with_totals_when_no_filter_is_given(accounts):
    response = await accounts.stub.GetUsage(pb.GetUsageRequest(), metadata=OPERATOR)

    assert len(response.rows) == len(ROWS)
    assert [r.day.ToDatetime().date() for r in response.rows] == sorted(r[0] for r in ROWS)
    assert (response.totals.page_views, response.totals.registrations, response.totals.questions) == (
        19,
        2,
        3,
    )
    assert response.next_page_token == ""


async def test_one_account_in_a_time_range_with_an_exclusive_end(accounts):
    response = await accounts.stub.GetUsage(
        pb.GetUsageRequest(account_id=ANA, start_time=at(2026, 2, 1, 15), end_time=at(2026, 2, 2)),
        metadata=OPERATOR,
    )

    # start_time counts its whole day; the day that starts at end_time is out.
    assert summary(response) == [(date(2026, 2, 1), "PRINCIPAL_KIND_ACCOUNT", ANA, 3)]
    assert (response.totals.page_views, response.totals.questions) == (3, 2)


async def test_an_end_inside_a_day_includes_that_day(accounts):
    response = await accounts.stub.GetUsage(
        pb.GetUsageRequest(account_id=ANA, start_time=at(2026, 2, 1), end_time=at(2026, 2, 2, 0, 0, 1)),
        metadata=OPERATOR,
    )

    assert [row[0] for row in summary(response)] == [date(2026, 2, 1), date(2026, 2, 2)]
    assert response.totals.page_views == 10


async def test_pages_follow_one_another_and_totals_cover_every_page(accounts):
    request = pb.GetUsageRequest(start_time=at(2026, 2, 1), page_size=2)
    pages = [await accounts.stub.GetUsage(request, metadata=OPERATOR)]
    while pages[-1].next_page_token:
        request.page_token = pages[-1].next_page_token
        pages.append(await accounts.stub.GetUsage(request, metadata=OPERATOR))

    rows = [row for page in pages for row in summary(page)]
    assert [len(page.rows) for page in pages] == [2, 2, 1]
    assert rows == sorted(rows) and len(set(rows)) == 5
    assert {page.totals.page_views for page in pages} == {14}


async def test_a_page_token_only_continues_the_query_it_came_from(accounts):
    first = await accounts.stub.GetUsage(pb.GetUsageRequest(page_size=1), metadata=OPERATOR)

    with pytest.raises(Exception) as raised:
        await accounts.stub.GetUsage(
            pb.GetUsageRequest(page_size=1, account_id=BEN, page_token=first.next_page_token),
            metadata=OPERATOR,
        )

    assert "other filters" in raised.value.details()


async def test_an_account_with_no_usage_has_empty_rows_and_zero_totals(accounts):
    response = await accounts.stub.GetUsage(
        pb.GetUsageRequest(account_id=str(uuid.uuid4())), metadata=OPERATOR
    )

    assert list(response.rows) == [] and response.totals.page_views == 0
