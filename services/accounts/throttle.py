"""Login throttling: failed logins per account (by email, known or not) and per client address.

From the `threshold`-th failure on (a count forgotten after a quiet window with no failure),
each failure blocks the key for an exponentially growing time (base, 2×base, 4×base, ... up to a cap). Keys are emails, not account
ids, so an unknown email is throttled exactly like a known one and reveals nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from services.accounts.errors import LoginThrottled
from services.accounts.tables import login_throttles
from services.accounts.transactions import insert_if_absent


@dataclass(frozen=True)
class ThrottleRules:
    failures_per_account: int
    failures_per_address: int
    window: timedelta
    backoff_base: timedelta
    backoff_max: timedelta

    def block_for(self, failures: int, threshold: int) -> timedelta | None:
        """How long a key with `failures` recent failures is blocked; None below the threshold."""
        if failures < threshold:
            return None
        # Capping the exponent keeps 2**n finite for keys hammered thousands of times.
        doubling = min(failures - threshold, 30)
        return min(self.backoff_base * (2**doubling), self.backoff_max)


@dataclass(frozen=True)
class ThrottleKey:
    key: str
    threshold: int
    scope: str


def keys_for(email: str, client_network: str | None, rules: ThrottleRules) -> list[ThrottleKey]:
    keys = [ThrottleKey(f"account:{email}", rules.failures_per_account, "account")]
    if client_network:
        keys.append(ThrottleKey(f"address:{client_network}", rules.failures_per_address, "address"))
    return keys


def check_not_blocked(conn: Connection, keys: list[ThrottleKey], now: datetime) -> None:
    """LoginThrottled with the time to retry when any key is blocked now."""
    rows = conn.execute(
        select(login_throttles.c.key, login_throttles.c.blocked_until).where(
            login_throttles.c.key.in_([k.key for k in keys]), login_throttles.c.blocked_until > now
        )
    ).all()
    if not rows:
        return
    key, until = max(rows, key=lambda row: row.blocked_until)
    scope = next(k.scope for k in keys if k.key == key)
    raise LoginThrottled(until, max(1, math.ceil((until - now).total_seconds())), scope)


def record_failure(conn: Connection, keys: list[ThrottleKey], now: datetime, rules: ThrottleRules) -> None:
    """Count one failed login against every key; call inside a write transaction."""
    for key in keys:
        insert_if_absent(conn, login_throttles, {"key": key.key, "failures": 0, "last_failure_at": now})
        row = conn.execute(
            select(login_throttles.c.failures, login_throttles.c.last_failure_at)
            .where(login_throttles.c.key == key.key)
            .with_for_update()
        ).one()
        # The count lasts while failures keep coming; a quiet window forgets it.
        failures = 1 if now - row.last_failure_at > rules.window else row.failures + 1
        blocked_for = rules.block_for(failures, key.threshold)
        conn.execute(
            update(login_throttles)
            .where(login_throttles.c.key == key.key)
            .values(
                failures=failures,
                last_failure_at=now,
                blocked_until=now + blocked_for if blocked_for else None,
            )
        )


def forget_failures(conn: Connection, keys: list[ThrottleKey]) -> None:
    """After a good login: the account's count starts over (the address's does not — one good
    account must not let an address go on guessing others)."""
    account_keys = [k.key for k in keys if k.scope == "account"]
    conn.execute(
        update(login_throttles)
        .where(login_throttles.c.key.in_(account_keys))
        .values(failures=0, blocked_until=None)
    )
