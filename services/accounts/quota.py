"""The code page view quota: grants counted by conditional upserts, so the database enforces the plan.

One AuthorizeView is one transaction: the idempotency row, the grant row, the counters and the
PageViewed outbox event commit together or not at all. A counter is only ever raised by
`INSERT ... ON CONFLICT DO UPDATE SET used = used + 1 WHERE used < :limit`, which PostgreSQL
evaluates on the row it has locked, after any concurrent writer committed (and SQLite runs under
its single write lock), so no interleaving of any number of replicas takes a principal past its
limit. The grant row is inserted first with ON CONFLICT DO NOTHING: a concurrent open of the same
code waits for the first one and then finds its grant. Two calls racing with one request id end in
a unique-constraint error on view_requests; the caller runs the transaction again and finds the
stored answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import SimpleNamespace

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.accounts import events
from services.accounts.errors import InvalidArgument
from services.accounts.plans import Period, Plan, period_of
from services.accounts.sessions import GUEST_KIND, Principal
from services.accounts.tables import address_counters, view_counters, view_grants, view_requests

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


# Built once: AuthorizeView is the hot path, and SQLAlchemy caches the compiled form per object.
# (Bind names differ from the column names: an UPDATE reserves those for its SET clause.)
_COUNTER_KEY = (view_counters.c.principal_id == bindparam("counter_principal")) & (
    view_counters.c.period_start == bindparam("counter_period")
)
USED = select(view_counters.c.used).where(_COUNTER_KEY)
GIVE_VIEW_BACK = update(view_counters).where(_COUNTER_KEY).values(used=view_counters.c.used - 1)
STORED_ANSWER = select(view_requests).where(
    view_requests.c.principal_id == bindparam("principal_id"),
    view_requests.c.request_id == bindparam("request_id"),
)
STORE_ANSWER = insert(view_requests)
DROP_GRANT = delete(view_grants).where(view_grants.c.id == bindparam("grant_id"))


@cache
def _upserts(dialect: str) -> SimpleNamespace:
    """The conflict-aware statements, in the dialect's own INSERT (both speak ON CONFLICT)."""
    insert_of = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    grant = insert_of(view_grants).on_conflict_do_nothing().returning(view_grants.c.id)
    counter = insert_of(view_counters).values(used=1)
    count_view = counter.on_conflict_do_update(
        index_elements=[view_counters.c.principal_id, view_counters.c.period_start],
        set_={"used": view_counters.c.used + 1},
        where=view_counters.c.used < bindparam("limit"),
    ).returning(view_counters.c.used)
    count_unlimited = counter.on_conflict_do_update(
        index_elements=[view_counters.c.principal_id, view_counters.c.period_start],
        set_={"used": view_counters.c.used + 1},
    ).returning(view_counters.c.used)
    count_address = (
        insert_of(address_counters)
        .values(used=1)
        .on_conflict_do_update(
            index_elements=[address_counters.c.client_network, address_counters.c.day],
            set_={"used": address_counters.c.used + 1},
            where=address_counters.c.used < bindparam("limit"),
        )
        .returning(address_counters.c.used)
    )
    return SimpleNamespace(
        grant=grant, count_view=count_view, count_unlimited=count_unlimited, count_address=count_address
    )


def used_in(conn: Connection, principal_id: str, period: Period) -> int:
    return (
        conn.execute(USED, {"counter_principal": principal_id, "counter_period": period.start}).scalar() or 0
    )


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
        STORED_ANSWER, {"principal_id": principal.id, "request_id": view.request_id}
    ).first()
    if stored is not None:
        if stored.code_key is not None and (stored.system, stored.code_key) != (view.system, view.code_key):
            raise InvalidArgument(
                "request_id",
                f"request_id {view.request_id!r} was used for {stored.system} {stored.code_key}: "
                "use a new request_id for each page (reuse one only to retry the same page)",
                reason="REQUEST_ID_REUSED",
            )
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
        STORE_ANSWER,
        {
            "principal_id": principal.id,
            "request_id": view.request_id,
            "allowed": decision.allowed,
            "reason": decision.reason,
            "remaining": decision.remaining,
            "unlimited": decision.unlimited,
            "plan": decision.plan,
            "period_end": decision.period_end,
            "answered_at": now,
            "system": view.system,
            "code_key": view.code_key,
        },
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
    upserts = _upserts(conn.dialect.name)
    counter_key = {"principal_id": principal.id, "period_start": period.start}
    grant_id = conn.execute(
        upserts.grant,
        {
            "principal_kind": principal.kind,
            "principal_id": principal.id,
            "period_start": period.start,
            "system": view.system,
            "code_key": view.code_key,
            "code": view.code,
            "request_id": view.request_id,
            "granted_at": now,
        },
    ).scalar()
    if grant_id is None:  # granted before in this period: free
        used = used_in(conn, principal.id, period)
        return ViewDecision(
            True, ALREADY_GRANTED, plan.remaining(used), plan.unlimited, plan.name, period.end
        )

    if plan.views is None:
        used = conn.execute(upserts.count_unlimited, counter_key).scalar_one()
    elif plan.views > 0:
        used = conn.execute(upserts.count_view, {**counter_key, "limit": plan.views}).scalar()
    else:
        used = None
    refusal = None
    if used is None:
        refusal = QUOTA_EXHAUSTED
    elif principal.kind == GUEST_KIND and view.client_network is not None:
        day = {"client_network": view.client_network, "day": now.date(), "limit": address_limit}
        if address_limit <= 0 or conn.execute(upserts.count_address, day).scalar() is None:
            # The principal keeps its view: the address refused it. Its counter row is locked by us.
            conn.execute(GIVE_VIEW_BACK, {"counter_principal": principal.id, "counter_period": period.start})
            refusal = ADDRESS_LIMIT_REACHED
    if refusal is not None:
        conn.execute(DROP_GRANT, {"grant_id": grant_id})
        return ViewDecision(False, refusal, 0, plan.unlimited, plan.name, period.end)

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
    return ViewDecision(True, GRANTED, plan.remaining(used), plan.unlimited, plan.name, period.end)
