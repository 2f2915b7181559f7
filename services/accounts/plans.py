"""Plans are configuration: code page views per calendar month and assistant questions per day (UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    # Assistant questions per UTC day; None means unlimited, 0 none at all (guests).
    questions_per_day: int | None = 0

    @property
    def unlimited(self) -> bool:
        return self.views is None

    def remaining(self, used: int) -> int:
        """Views left after `used`; 0 for an unlimited plan (whose callers read `unlimited`)."""
        return 0 if self.views is None else max(0, self.views - used)

    @property
    def unlimited_questions(self) -> bool:
        return self.questions_per_day is None

    def questions_left(self, asked: int) -> int:
        """Questions left today after `asked`; 0 for unlimited (whose callers read `unlimited_questions`)."""
        return 0 if self.questions_per_day is None else max(0, self.questions_per_day - asked)


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
                GUEST: Plan(GUEST, settings.guest_views, questions_per_day=0),
                FREE: Plan(FREE, settings.free_views, questions_per_day=settings.free_questions),
                PRO: Plan(PRO, settings.pro_views, questions_per_day=settings.pro_questions),
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


def day_of(moment: datetime) -> Period:
    """The UTC day holding `moment`, the period of the assistant's questions."""
    moment = moment.astimezone(UTC)
    start = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return Period(start, start + timedelta(days=1))
