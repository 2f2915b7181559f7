"""The code page view quota: grants counted by conditional UPDATEs, so the database enforces the plan.

One AuthorizeView is one transaction: the idempotency row, the grant row, the counters and the
PageViewed outbox event commit together or not at all. The counters are only ever raised by
`UPDATE ... SET used = used + 1 WHERE ... AND used < :limit`, which PostgreSQL re-checks after
waiting for a concurrent writer's row lock (and SQLite runs under its single write lock), so no
interleaving of any number of replicas can take a principal past its limit. A race on the same
code or request id ends in a unique-constraint error; the caller retries and then finds the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from services.accounts import events
from services.accounts.plans import Period, Plan, period_of
from services.accounts.sessions import GUEST_KIND, Principal
from services.accounts.tables import address_counters, view_counters, view_grants, view_requests
from services.accounts.transactions import insert_if_absent

GRANTED = "GRANTED"
ALREADY_GRANTED = "ALREADY_GRANTED"
QUOTA_EXHAUSTED = "QUOTA_EXHAUSTED"
ADDRESS_LIMIT_REACHED = "ADDRESS_LIMIT_REACHED"


@dataclass(frozen=True)
class ViewRequest:
    system: str
    code: str
    request_id: str
    # The guest's client network (see addresses.py); None for accounts.
    client_network: str | None = None

    @property
    def code_key(self) -> str:
        """The code as the grant is keyed: `e11.9` and `E119` are one page."""
        return self.code.upper().replace(".", "")


@dataclass(frozen=True)
class ViewDecision:
    allowed: bool
    reason: str
    remaining: int
    unlimited: bool
    plan: str
    period_end: datetime
    # True when this is the stored answer to an earlier call with the same request id.
    replayed: bool = False


@dataclass(frozen=True)
class Quota:
    plan: Plan
    used: int
    period: Period


def used_in(conn: Connection, principal_id: str, period: Period) -> int:
    used = conn.execute(
        select(view_counters.c.used).where(
            view_counters.c.principal_id == principal_id, view_counters.c.period_start == period.start
        )
    ).scalar()
    return used or 0


def quota_of(conn: Connection, principal: Principal, plan: Plan, now: datetime) -> Quota:
    period = period_of(now)
    return Quota(plan, used_in(conn, principal.id, period), period)


def authorize_view(
    conn: Connection,
    principal: Principal,
    plan: Plan,
    view: ViewRequest,
    now: datetime,
    guest_views_per_address_per_day: int,
) -> ViewDecision:
    """Grant or refuse one code page view; call inside a write transaction (see transactions.py)."""
    stored = conn.execute(
        select(view_requests).where(
            view_requests.c.principal_id == principal.id, view_requests.c.request_id == view.request_id
        )
    ).first()
    if stored is not None:
        return ViewDecision(
            stored.allowed,
            stored.reason,
            stored.remaining,
            stored.unlimited,
            stored.plan,
            stored.period_end,
            True,
        )
    period = period_of(now)
    decision = _decide(conn, principal, plan, view, now, period, guest_views_per_address_per_day)
    conn.execute(
        insert(view_requests).values(
            principal_id=principal.id,
            request_id=view.request_id,
            allowed=decision.allowed,
            reason=decision.reason,
            remaining=decision.remaining,
            unlimited=decision.unlimited,
            plan=decision.plan,
            period_end=decision.period_end,
            answered_at=now,
        )
    )
    return decision


def _decide(
    conn: Connection,
    principal: Principal,
    plan: Plan,
    view: ViewRequest,
    now: datetime,
    period: Period,
    address_limit: int,
) -> ViewDecision:
    def decision(allowed: bool, reason: str, used: int) -> ViewDecision:
        return ViewDecision(allowed, reason, plan.remaining(used), plan.unlimited, plan.name, period.end)

    already = conn.execute(
        select(view_grants.c.id).where(
            view_grants.c.principal_id == principal.id,
            view_grants.c.period_start == period.start,
            view_grants.c.system == view.system,
            view_grants.c.code_key == view.code_key,
        )
    ).first()
    if already is not None:
        return decision(True, ALREADY_GRANTED, used_in(conn, principal.id, period))

    used = _count_view(conn, principal.id, period, plan.views)
    if used is None:
        return ViewDecision(False, QUOTA_EXHAUSTED, 0, False, plan.name, period.end)
    if principal.kind == GUEST_KIND and view.client_network is not None:
        if not _count_address_view(conn, view.client_network, now, address_limit):
            # Give the principal its view back: the row is still locked by this transaction.
            conn.execute(
                update(view_counters)
                .where(
                    view_counters.c.principal_id == principal.id, view_counters.c.period_start == period.start
                )
                .values(used=view_counters.c.used - 1)
            )
            return ViewDecision(False, ADDRESS_LIMIT_REACHED, 0, plan.unlimited, plan.name, period.end)

    conn.execute(
        insert(view_grants).values(
            principal_kind=principal.kind,
            principal_id=principal.id,
            period_start=period.start,
            system=view.system,
            code_key=view.code_key,
            code=view.code,
            request_id=view.request_id,
            granted_at=now,
        )
    )
    events.page_viewed(
        conn,
        occurred_at=now,
        principal_kind=principal.kind,
        principal_id=principal.id,
        plan=plan.name,
        system=view.system,
        code=view.code,
        request_id=view.request_id,
        period_start=period.start,
    )
    return decision(True, GRANTED, used)


def _count_view(conn: Connection, principal_id: str, period: Period, limit: int | None) -> int | None:
    """Raise the principal's counter if the limit allows; the new count, or None when it is used up."""
    insert_if_absent(
        conn, view_counters, {"principal_id": principal_id, "period_start": period.start, "used": 0}
    )
    statement = update(view_counters).where(
        view_counters.c.principal_id == principal_id, view_counters.c.period_start == period.start
    )
    if limit is not None:
        statement = statement.where(view_counters.c.used < limit)
    return conn.execute(
        statement.values(used=view_counters.c.used + 1).returning(view_counters.c.used)
    ).scalar()


def _count_address_view(conn: Connection, client_network: str, now: datetime, limit: int) -> bool:
    day = now.date()
    insert_if_absent(conn, address_counters, {"client_network": client_network, "day": day, "used": 0})
    raised = conn.execute(
        update(address_counters)
        .where(
            address_counters.c.client_network == client_network,
            address_counters.c.day == day,
            address_counters.c.used < limit,
        )
        .values(used=address_counters.c.used + 1)
        .returning(address_counters.c.used)
    ).scalar()
    return raised is not None


def grants_in(conn: Connection, principal_id: str, period: Period) -> int:
    """How many distinct codes the principal was granted in the period (for checks and reports)."""
    return conn.execute(
        select(func.count()).where(
            view_grants.c.principal_id == principal_id, view_grants.c.period_start == period.start
        )
    ).scalar_one()
