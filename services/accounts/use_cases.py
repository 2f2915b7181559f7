"""The accounts service's use cases: plain values in, checked, run as database transactions off the loop.

Database work runs on a thread pool (a transaction may wait for a lock; the event loop must not),
password hashing on its own small pool. Transactions that lose a race on a unique constraint are
run again, and then find the winner's row (the grant, the request id's answer).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from services.accounts import plan_changes, questions, quota, registration, sessions, throttle
from services.accounts.addresses import client_network
from services.accounts.emails import normalise_email
from services.accounts.errors import EmailTaken, InvalidArgument, NotAuthenticated, Unavailable
from services.accounts.fields import (
    checked_account_id,
    checked_account_plan,
    checked_code,
    checked_request_id,
)
from services.accounts.passwords import MAX_PASSWORD_LENGTH, Passwords, check_password_rules
from services.accounts.plans import Plans
from services.accounts.settings import AccountsSettings
from services.accounts.tokens import checked_token, is_guest_token
from services.accounts.transactions import write_transaction
from services.accounts.usage import UsageFilter, UsagePage, checked_page_size, read_usage

log = logging.getLogger(__name__)
T = TypeVar("T")
RACE_RETRIES = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SignedIn:
    account: registration.AccountRecord
    session_token: str
    expires_at: datetime


class Accounts:
    """Every use case of the service; `on_event_committed` is told after a transaction wrote an event."""

    def __init__(
        self,
        engine: Engine,
        settings: AccountsSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        on_event_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.plans = Plans.from_settings(settings)
        self.clock = clock
        self.on_event_committed = on_event_committed
        self.lifetimes = sessions.Lifetimes(
            session_idle=timedelta(seconds=settings.session_idle_seconds),
            session_absolute=timedelta(seconds=settings.session_absolute_seconds),
            guest=timedelta(seconds=settings.guest_lifetime_seconds),
        )
        self.throttle_rules = throttle.ThrottleRules(
            failures_per_account=settings.login_failures_per_account,
            failures_per_address=settings.login_failures_per_address,
            window=timedelta(seconds=settings.login_failure_window_seconds),
            backoff_base=timedelta(seconds=settings.login_backoff_base_seconds),
            backoff_max=timedelta(seconds=settings.login_backoff_max_seconds),
        )
        self.passwords = Passwords(settings.hash_workers)
        self._db = ThreadPoolExecutor(max_workers=settings.db_workers, thread_name_prefix="accounts-db")

    def close(self) -> None:
        self._db.shutdown(wait=True)
        self.passwords.close()

    # -- running work --------------------------------------------------------------------------

    async def _on_db_thread(self, function: Callable[[], T]) -> T:
        # The caller's context goes along (unlike plain run_in_executor): the outbox takes the
        # request's traceparent from it, and log lines their trace id.
        context = contextvars.copy_context()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._db, context.run, function)
        except OperationalError as error:
            log.error("database unavailable", extra={"error": str(error.orig)})
            raise Unavailable("the accounts database did not answer: try again in a few seconds") from None

    async def _write(self, work: Callable[[Connection], T]) -> T:
        return await self._on_db_thread(lambda: self._write_now(work))

    def _write_now(self, work: Callable[[Connection], T]) -> T:
        for attempt in range(1, RACE_RETRIES + 1):
            try:
                with write_transaction(self.engine) as conn:
                    return work(conn)
            except IntegrityError:
                # Lost a race on a unique row (same code, same request id); the retry reads it.
                if attempt == RACE_RETRIES:
                    raise
        raise AssertionError("unreachable")

    async def _read(self, work: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self.engine.connect() as conn:
                return work(conn)

        return await self._on_db_thread(run)

    # -- guests, sessions ----------------------------------------------------------------------

    async def create_guest(self, client_address: str) -> tuple[str, sessions.Principal]:
        network = client_network(client_address, required=True)
        return await self._write(
            lambda conn: sessions.mint_guest(conn, network, self.clock(), self.lifetimes)
        )

    async def authenticate(self, token: str) -> sessions.Principal:
        token = checked_token(token)
        principal = await self._read(
            lambda conn: sessions.find_principal(conn, token, self.clock(), self.lifetimes)
        )
        if principal.session_to_touch:
            session_id = principal.session_to_touch
            await self._write(lambda conn: sessions.touch_session(conn, session_id, self.clock()))
        return principal

    async def logout(self, token: str) -> None:
        token = checked_token(token)
        await self._write(lambda conn: sessions.revoke_token(conn, token, self.clock()))

    # -- registration and login ----------------------------------------------------------------

    async def register(self, email: str, password: str, guest_token: str, client_address: str) -> SignedIn:
        email = normalise_email(email)
        check_password_rules(password, email, self.settings.password_min_length)
        client_network(client_address, required=False)
        guest_token = checked_token(guest_token, "guest_token") if guest_token.strip() else ""
        if guest_token and not is_guest_token(guest_token):
            raise InvalidArgument(
                "guest_token",
                "guest_token is a session token: pass the guest's token, or none",
                "TOKEN_MALFORMED",
            )
        # Cheap check first, so a taken email costs no hashing; the unique constraint still decides.
        if await self._read(lambda conn: registration.email_taken(conn, email)):
            raise EmailTaken()
        password_hash = await self.passwords.hash(password)

        def work(conn: Connection) -> SignedIn:
            now = self.clock()
            guest = sessions.find_principal(conn, guest_token, now, self.lifetimes) if guest_token else None
            account = registration.create_account(conn, email, password_hash, guest, now)
            token, expires_at = sessions.open_session(conn, account.id, now, self.lifetimes)
            return SignedIn(account, token, expires_at)

        signed_in = await self._write(work)
        self.on_event_committed()
        log.info("account registered", extra={"account_id": signed_in.account.id})
        return signed_in

    async def login(self, email: str, password: str, client_address: str) -> SignedIn:
        email = normalise_email(email)
        if not password:
            raise InvalidArgument("password", "password is required", "FIELD_REQUIRED")
        if len(password) > MAX_PASSWORD_LENGTH:
            raise InvalidArgument(
                "password", f"password is longer than {MAX_PASSWORD_LENGTH} characters", "PASSWORD_TOO_LONG"
            )
        keys = throttle.keys_for(email, client_network(client_address, required=False), self.throttle_rules)

        def look_up(conn: Connection) -> registration.LoginCandidate | None:
            throttle.check_not_blocked(conn, keys, self.clock())
            return registration.login_candidate(conn, email)

        candidate = await self._read(look_up)
        # An unknown email verifies a dummy hash: the same work, time and answer as a wrong password.
        if not await self.passwords.verify(candidate.password_hash if candidate else None, password):
            await self._write(
                lambda conn: throttle.record_failure(conn, keys, self.clock(), self.throttle_rules)
            )
            raise NotAuthenticated("email or password is wrong", "INVALID_CREDENTIALS")
        assert candidate is not None
        new_hash = (
            await self.passwords.hash(password)
            if self.passwords.needs_rehash(candidate.password_hash)
            else None
        )

        def work(conn: Connection) -> SignedIn:
            throttle.forget_failures(conn, keys)
            if new_hash:
                registration.replace_password_hash(conn, candidate.account.id, new_hash)
            token, expires_at = sessions.open_session(
                conn, candidate.account.id, self.clock(), self.lifetimes
            )
            return SignedIn(candidate.account, token, expires_at)

        return await self._write(work)

    # -- the quota -----------------------------------------------------------------------------

    async def authorize_view(
        self, token: str, system: str, code: str, request_id: str, client_address: str
    ) -> quota.ViewDecision:
        token = checked_token(token)
        view = quota.ViewRequest(
            system=system,
            code=checked_code(code),
            request_id=checked_request_id(request_id),
            client_network=client_network(client_address, required=is_guest_token(token)),
        )

        def work(conn: Connection) -> quota.ViewDecision:
            now = self.clock()
            principal = sessions.find_principal(conn, token, now, self.lifetimes)
            if principal.session_to_touch:
                sessions.touch_session(conn, principal.session_to_touch, now)
            limit = self.plans.guest_views_per_address_per_day
            return quota.authorize_view(conn, principal, self.plans[principal.plan], view, now, limit)

        decision = await self._write(work)
        if decision.reason == quota.GRANTED and not decision.replayed:
            self.on_event_committed()
        return decision

    async def authorize_question(
        self, token: str, request_id: str, intent: str
    ) -> questions.QuestionDecision:
        token = checked_token(token)
        questions.refuse_guest_token(token)
        request_id = checked_request_id(request_id)
        intent = questions.checked_intent(intent)

        def work(conn: Connection) -> questions.QuestionDecision:
            now = self.clock()
            principal = sessions.find_principal(conn, token, now, self.lifetimes)
            if principal.session_to_touch:
                sessions.touch_session(conn, principal.session_to_touch, now)
            return questions.authorize_question(
                conn, principal, self.plans[principal.plan], request_id, intent, now
            )

        decision = await self._write(work)
        if decision.reason == questions.GRANTED and not decision.replayed:
            self.on_event_committed()
        return decision

    async def get_quota(self, token: str) -> quota.Quota:
        principal = await self.authenticate(token)
        return await self._read(
            lambda conn: quota.quota_of(conn, principal, self.plans[principal.plan], self.clock())
        )

    # -- operators -----------------------------------------------------------------------------

    async def usage(
        self, operator_token: str | None, usage_filter: UsageFilter, page_size: int, page_token: str
    ) -> UsagePage:
        plan_changes.require_operator(operator_token, self.settings.operator_token)
        if usage_filter.account_id:
            usage_filter = UsageFilter(
                checked_account_id(usage_filter.account_id), usage_filter.start_time, usage_filter.end_time
            )
        if (
            usage_filter.start_time
            and usage_filter.end_time
            and usage_filter.start_time >= usage_filter.end_time
        ):
            raise InvalidArgument(
                "end_time", "end_time must be after start_time (end_time is exclusive)", "TIME_RANGE_EMPTY"
            )
        size = checked_page_size(page_size)
        return await self._read(lambda conn: read_usage(conn, usage_filter, size, page_token))

    async def change_plan(
        self, operator_token: str | None, account_id: str, email: str, plan: str
    ) -> tuple[registration.AccountRecord, str]:
        plan_changes.require_operator(operator_token, self.settings.operator_token)
        plan = checked_account_plan(plan)
        if bool(account_id.strip()) == bool(email.strip()):
            raise InvalidArgument(
                "account", "name the account by account_id or by email (one of them)", "FIELD_REQUIRED"
            )
        account_id = checked_account_id(account_id) if account_id.strip() else ""
        email = normalise_email(email) if email.strip() else ""

        def work(conn: Connection) -> tuple[registration.AccountRecord, str]:
            return plan_changes.change_plan(
                conn, account_id=account_id, email=email, plan=plan, now=self.clock()
            )

        account, previous = await self._write(work)
        if previous != plan:
            self.on_event_committed()
            log.info("plan changed", extra={"account_id": account.id, "old_plan": previous, "new_plan": plan})
        return account, previous
