"""Accounts in the database: creating one (from a guest or not) and finding one to log in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.accounts import events
from services.accounts.errors import EmailTaken
from services.accounts.plans import ACCOUNT_PLANS
from services.accounts.sessions import Principal
from services.accounts.tables import accounts, guests


@dataclass(frozen=True)
class AccountRecord:
    id: str
    email: str
    plan: str
    created_at: datetime


@dataclass(frozen=True)
class LoginCandidate:
    account: AccountRecord
    password_hash: str


def email_taken(conn: Connection, email: str) -> bool:
    return conn.execute(select(exists().where(accounts.c.email == email))).scalar_one()


def create_account(
    conn: Connection, email: str, password_hash: str, guest: Principal | None, now: datetime
) -> AccountRecord:
    """Insert the account on the first account plan, retire the guest it grows from, write AccountRegistered."""
    account = AccountRecord(str(uuid.uuid4()), email, ACCOUNT_PLANS[0], now)
    try:
        conn.execute(
            insert(accounts).values(
                id=account.id,
                email=email,
                password_hash=password_hash,
                plan=account.plan,
                created_at=now,
                from_guest_id=guest.id if guest else None,
            )
        )
    except IntegrityError:
        # Another registration of the same email committed first.
        raise EmailTaken() from None
    if guest is not None:
        conn.execute(
            update(guests).where(guests.c.id == guest.id).values(account_id=account.id, revoked_at=now)
        )
    events.account_registered(
        conn,
        occurred_at=now,
        account_id=account.id,
        plan=account.plan,
        from_guest_id=guest.id if guest else None,
    )
    return account


def login_candidate(conn: Connection, email: str) -> LoginCandidate | None:
    row = conn.execute(select(accounts).where(accounts.c.email == email)).first()
    if row is None:
        return None
    return LoginCandidate(AccountRecord(row.id, row.email, row.plan, row.created_at), row.password_hash)


def replace_password_hash(conn: Connection, account_id: str, password_hash: str) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(password_hash=password_hash))
