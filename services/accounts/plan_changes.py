"""Operators: who they are (the operator token) and moving an account to another plan."""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import Connection, select, update

from services.accounts import events
from services.accounts.errors import AccountNotFound, NotOperator
from services.accounts.registration import AccountRecord
from services.accounts.tables import accounts


def require_operator(presented: str | None, configured: str) -> None:
    """PermissionDenied unless `presented` is the configured operator token (compared in constant time)."""
    if not configured:
        raise NotOperator(
            "operator calls are switched off: set MEDCODE_OPERATOR_TOKEN on the accounts service",
            "OPERATORS_DISABLED",
        )
    if not presented:
        raise NotOperator(
            "this call is for operators: send the metadata `authorization: Bearer <operator token>`"
        )
    if not hmac.compare_digest(presented.encode(), configured.encode()):
        raise NotOperator(
            "the operator token is not this service's MEDCODE_OPERATOR_TOKEN", "OPERATOR_TOKEN_WRONG"
        )


def change_plan(
    conn: Connection, *, account_id: str | None, email: str | None, plan: str, now: datetime
) -> tuple[AccountRecord, str]:
    """Move the account to `plan`, writing PlanChanged; the account and its previous plan. Same plan: no event."""
    where = accounts.c.id == account_id if account_id else accounts.c.email == email
    row = conn.execute(select(accounts).where(where).with_for_update()).first()
    if row is None:
        shown = f"id {account_id}: check it" if account_id else f"email {email}: check its spelling"
        raise AccountNotFound(f"no account with {shown}")
    record = AccountRecord(row.id, row.email, plan, row.created_at)
    if row.plan == plan:
        return record, row.plan
    conn.execute(update(accounts).where(accounts.c.id == row.id).values(plan=plan, plan_changed_at=now))
    events.plan_changed(conn, occurred_at=now, account_id=row.id, old_plan=row.plan, new_plan=plan)
    return record, row.plan
