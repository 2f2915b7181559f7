"""Guests and sessions: minting tokens, finding who a token stands for, expiry and revocation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, insert, select, update

from services.accounts.errors import NotAuthenticated
from services.accounts.plans import GUEST
from services.accounts.tables import accounts, guests, sessions
from services.accounts.tokens import GUEST_PREFIX, SESSION_PREFIX, is_guest_token, mint, token_hash

GUEST_KIND = "guest"
ACCOUNT_KIND = "account"


# Built once: every request with a token runs one of these.
SESSION_BY_TOKEN = (
    select(
        sessions.c.id,
        sessions.c.last_seen_at,
        sessions.c.expires_at,
        sessions.c.revoked_at,
        accounts.c.id.label("account_id"),
        accounts.c.email,
        accounts.c.plan,
    )
    .join(accounts, accounts.c.id == sessions.c.account_id)
    .where(sessions.c.token_hash == bindparam("token_hash"))
)
GUEST_BY_TOKEN = select(guests.c.id, guests.c.expires_at, guests.c.revoked_at, guests.c.account_id).where(
    guests.c.token_hash == bindparam("token_hash")
)


@dataclass(frozen=True)
class Lifetimes:
    session_idle: timedelta
    session_absolute: timedelta
    guest: timedelta

    @property
    def touch_after(self) -> timedelta:
        """How stale last_seen_at may get before a request refreshes it (writes are not free)."""
        return min(timedelta(minutes=1), self.session_idle / 10)


@dataclass(frozen=True)
class Principal:
    kind: str
    id: str
    plan: str
    expires_at: datetime
    email: str = ""
    # The session to refresh after this request (None for guests or when last_seen_at is fresh).
    session_to_touch: str | None = None


def mint_guest(
    conn: Connection, client_network: str, now: datetime, lifetimes: Lifetimes
) -> tuple[str, Principal]:
    token, hashed = mint(GUEST_PREFIX)
    guest_id = str(uuid.uuid4())
    expires_at = now + lifetimes.guest
    conn.execute(
        insert(guests).values(
            id=guest_id,
            token_hash=hashed,
            client_address=client_network,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token, Principal(GUEST_KIND, guest_id, GUEST, expires_at)


def open_session(
    conn: Connection, account_id: str, now: datetime, lifetimes: Lifetimes
) -> tuple[str, datetime]:
    """A new session for the account: its token and when it ends at the latest."""
    token, hashed = mint(SESSION_PREFIX)
    expires_at = now + lifetimes.session_absolute
    conn.execute(
        insert(sessions).values(
            id=str(uuid.uuid4()),
            token_hash=hashed,
            account_id=account_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    return token, expires_at


def find_principal(conn: Connection, token: str, now: datetime, lifetimes: Lifetimes) -> Principal:
    """Who a (well-formed) token stands for; NotAuthenticated when unknown, expired or revoked."""
    if is_guest_token(token):
        return _find_guest(conn, token, now)
    row = conn.execute(SESSION_BY_TOKEN, {"token_hash": token_hash(token)}).first()
    if row is None:
        raise NotAuthenticated("session token is not known: log in again", "TOKEN_UNKNOWN")
    if row.revoked_at is not None:
        raise NotAuthenticated("this session was logged out: log in again", "SESSION_REVOKED")
    if now >= row.expires_at:
        raise NotAuthenticated(
            "this session has reached its maximum lifetime: log in again", "SESSION_EXPIRED"
        )
    if now >= row.last_seen_at + lifetimes.session_idle:
        raise NotAuthenticated("this session expired after being idle: log in again", "SESSION_EXPIRED")
    stale = now - row.last_seen_at >= lifetimes.touch_after
    return Principal(
        ACCOUNT_KIND,
        row.account_id,
        row.plan,
        min(row.expires_at, now + lifetimes.session_idle),
        row.email,
        row.id if stale else None,
    )


def _find_guest(conn: Connection, token: str, now: datetime) -> Principal:
    row = conn.execute(GUEST_BY_TOKEN, {"token_hash": token_hash(token)}).first()
    if row is None:
        raise NotAuthenticated("guest token is not known: create a new guest", "TOKEN_UNKNOWN")
    if row.account_id is not None:
        raise NotAuthenticated("this guest has become an account: log in with it", "GUEST_REGISTERED")
    if row.revoked_at is not None:
        raise NotAuthenticated("this guest token was logged out: create a new guest", "SESSION_REVOKED")
    if now >= row.expires_at:
        raise NotAuthenticated("this guest token has expired: create a new guest", "SESSION_EXPIRED")
    return Principal(GUEST_KIND, row.id, GUEST, row.expires_at)


def touch_session(conn: Connection, session_id: str, now: datetime) -> None:
    """Push the idle expiry forward; never backwards when requests race."""
    conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.last_seen_at < now, sessions.c.revoked_at.is_(None))
        .values(last_seen_at=now)
    )


def revoke_token(conn: Connection, token: str, now: datetime) -> None:
    """Logout: the token stops working. A token already revoked or expired is fine; an unknown one is not."""
    table = guests if is_guest_token(token) else sessions
    hashed = token_hash(token)
    known = conn.execute(select(table.c.id).where(table.c.token_hash == hashed)).first()
    if known is None:
        raise NotAuthenticated("token is not known: there is nothing to log out", "TOKEN_UNKNOWN")
    conn.execute(
        update(table).where(table.c.id == known.id, table.c.revoked_at.is_(None)).values(revoked_at=now)
    )
