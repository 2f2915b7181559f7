"""Plans are configuration: how many code page views each plan gives per calendar month (UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from services.accounts.settings import AccountsSettings

GUEST = "guest"
FREE = "free"
PRO = "pro"
# The plans an account can be on (guest is for guests only); new accounts start on the first.
ACCOUNT_PLANS = (FREE, PRO)


@dataclass(frozen=True)
class Plan:
    name: str
    # Views per period; None means unlimited.
    views: int | None

    @property
    def unlimited(self) -> bool:
        return self.views is None

    def remaining(self, used: int) -> int:
        """Views left after `used`; 0 for an unlimited plan (whose callers read `unlimited`)."""
        return 0 if self.views is None else max(0, self.views - used)


@dataclass(frozen=True)
class Plans:
    by_name: dict[str, Plan]
    guest_views_per_address_per_day: int

    def __getitem__(self, name: str) -> Plan:
        return self.by_name[name]

    @classmethod
    def from_settings(cls, settings: AccountsSettings) -> Plans:
        return cls(
            by_name={
                GUEST: Plan(GUEST, settings.guest_views),
                FREE: Plan(FREE, settings.free_views),
                PRO: Plan(PRO, settings.pro_views),
            },
            guest_views_per_address_per_day=settings.guest_views_per_address_per_day,
        )


@dataclass(frozen=True)
class Period:
    """A quota period: [start, end) in UTC."""

    start: datetime
    end: datetime


def period_of(moment: datetime) -> Period:
    """The calendar month (UTC) holding `moment`; it ends at the first instant of the next month."""
    moment = moment.astimezone(UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return Period(start, end)
