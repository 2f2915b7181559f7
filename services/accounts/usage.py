"""The operator's view of what was consumed: the meter's rows per day and principal, and their totals."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, and_, func, or_, select

from services.accounts.errors import InvalidArgument
from services.accounts.tables import meter_usage

DEFAULT_PAGE_SIZE = 1_000
MAX_PAGE_SIZE = 10_000


@dataclass(frozen=True)
class UsageFilter:
    account_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def first_day(self) -> date | None:
        return self.start_time.date() if self.start_time else None

    @property
    def last_day(self) -> date | None:
        # end_time is exclusive: a day counts when it starts before end_time.
        return (self.end_time - timedelta(microseconds=1)).date() if self.end_time else None

    def fingerprint(self) -> str:
        return hashlib.sha256(repr((self.account_id, self.first_day, self.last_day)).encode()).hexdigest()[
            :16
        ]


@dataclass(frozen=True)
class UsageRow:
    day: date
    principal_kind: str
    principal_id: str
    page_views: int
    registrations: int
    questions: int


@dataclass(frozen=True)
class UsageTotals:
    page_views: int
    registrations: int
    questions: int


@dataclass(frozen=True)
class UsagePage:
    rows: list[UsageRow]
    totals: UsageTotals
    next_page_token: str


def checked_page_size(requested: int) -> int:
    if requested < 0 or requested > MAX_PAGE_SIZE:
        raise InvalidArgument(
            "page_size",
            f"page_size must be 0..{MAX_PAGE_SIZE} (0 means {DEFAULT_PAGE_SIZE}); got {requested}",
        )
    return requested or DEFAULT_PAGE_SIZE


def _encode(last: UsageRow, usage_filter: UsageFilter) -> str:
    raw = json.dumps(
        [last.day.isoformat(), last.principal_kind, last.principal_id, usage_filter.fingerprint()]
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str, usage_filter: UsageFilter) -> tuple[date, str, str] | None:
    if not token:
        return None
    try:
        day, kind, principal_id, owner = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = (date.fromisoformat(day), str(kind), str(principal_id))
    except (ValueError, TypeError):
        raise InvalidArgument(
            "page_token", "page_token is not one this service issued: pass next_page_token as given"
        ) from None
    if owner != usage_filter.fingerprint():
        raise InvalidArgument(
            "page_token",
            "page_token belongs to other filters: keep account_id, start_time and end_time of the first page",
        )
    return after


def read_usage(conn: Connection, usage_filter: UsageFilter, page_size: int, page_token: str) -> UsagePage:
    """One page of rows ordered by (day, principal kind, principal id), and totals over all of them."""
    after = _decode(page_token, usage_filter)
    conditions = []
    if usage_filter.account_id:
        conditions += [
            meter_usage.c.principal_kind == "account",
            meter_usage.c.principal_id == usage_filter.account_id,
        ]
    if usage_filter.first_day:
        conditions.append(meter_usage.c.day >= usage_filter.first_day)
    if usage_filter.last_day:
        conditions.append(meter_usage.c.day <= usage_filter.last_day)
    where = and_(True, *conditions)
    totals = conn.execute(
        select(
            func.coalesce(func.sum(meter_usage.c.page_views), 0),
            func.coalesce(func.sum(meter_usage.c.registrations), 0),
            func.coalesce(func.sum(meter_usage.c.questions), 0),
        ).where(where)
    ).one()
    key = (meter_usage.c.day, meter_usage.c.principal_kind, meter_usage.c.principal_id)
    query = select(meter_usage).where(where).order_by(*key).limit(page_size + 1)
    if after is not None:
        # Spelled out rather than a row-value comparison, which not every SQLite build plans well.
        day, kind, principal_id = after
        query = query.where(
            or_(
                meter_usage.c.day > day,
                and_(meter_usage.c.day == day, meter_usage.c.principal_kind > kind),
                and_(
                    meter_usage.c.day == day,
                    meter_usage.c.principal_kind == kind,
                    meter_usage.c.principal_id > principal_id,
                ),
            )
        )
    rows = [
        UsageRow(r.day, r.principal_kind, r.principal_id, r.page_views, r.registrations, r.questions)
        for r in conn.execute(query)
    ]
    more = len(rows) > page_size
    rows = rows[:page_size]
    return UsagePage(
        rows,
        UsageTotals(*(int(value) for value in totals)),
        _encode(rows[-1], usage_filter) if more else "",
    )
