"""The accounts service's own settings, read once from the environment (defaults are the local ones)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from services.common.settings import SettingsError

UNLIMITED_WORDS = {"unlimited", "none", ""}


def _int(env: dict[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _views(env: dict[str, str], name: str, default: int | None) -> int | None:
    """A plan's views per period; None means unlimited (`unlimited` in the environment)."""
    if name not in env:
        return default
    if env[name].strip().lower() in UNLIMITED_WORDS:
        return None
    return _int(env, name, 0)


@dataclass(frozen=True)
class AccountsSettings:
    guest_views: int | None = 1
    free_views: int | None = 5
    pro_views: int | None = None
    # Assistant questions per day (UTC); guests ask none (the assistant is for accounts).
    free_questions: int | None = 10
    pro_questions: int | None = None
    guest_views_per_address_per_day: int = 5
    session_idle_seconds: int = 7 * 24 * 3600
    session_absolute_seconds: int = 30 * 24 * 3600
    guest_lifetime_seconds: int = 30 * 24 * 3600
    password_min_length: int = 12
    # Failed logins tolerated before back-off starts, per account (email) and per client address.
    login_failures_per_account: int = 5
    login_failures_per_address: int = 20
    login_failure_window_seconds: int = 15 * 60
    login_backoff_base_seconds: int = 2
    login_backoff_max_seconds: int = 15 * 60
    operator_token: str = ""
    # Threads for database transactions and for password hashing (argon2 holds ~19 MiB each).
    db_workers: int = 8
    hash_workers: int = 2

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AccountsSettings:
        env = dict(os.environ if env is None else env)
        operator_token = env.get("MEDCODE_OPERATOR_TOKEN", "").strip()
        if operator_token and len(operator_token) < 32:
            raise SettingsError(
                "MEDCODE_OPERATOR_TOKEN is shorter than 32 characters: use a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        settings = cls(
            guest_views=_views(env, "MEDCODE_PLAN_GUEST_VIEWS", 1),
            free_views=_views(env, "MEDCODE_PLAN_FREE_VIEWS", 5),
            pro_views=_views(env, "MEDCODE_PLAN_PRO_VIEWS", None),
            free_questions=_views(env, "MEDCODE_PLAN_FREE_QUESTIONS", 10),
            pro_questions=_views(env, "MEDCODE_PLAN_PRO_QUESTIONS", None),
            guest_views_per_address_per_day=_int(env, "MEDCODE_GUEST_VIEWS_PER_ADDRESS_PER_DAY", 5),
            session_idle_seconds=_int(env, "MEDCODE_SESSION_IDLE_SECONDS", 7 * 24 * 3600, minimum=1),
            session_absolute_seconds=_int(env, "MEDCODE_SESSION_ABSOLUTE_SECONDS", 30 * 24 * 3600, minimum=1),
            guest_lifetime_seconds=_int(env, "MEDCODE_GUEST_LIFETIME_SECONDS", 30 * 24 * 3600, minimum=1),
            password_min_length=_int(env, "MEDCODE_PASSWORD_MIN_LENGTH", 12, minimum=8),
            login_failures_per_account=_int(env, "MEDCODE_LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1),
            login_failures_per_address=_int(env, "MEDCODE_LOGIN_FAILURES_PER_ADDRESS", 20, minimum=1),
            login_failure_window_seconds=_int(env, "MEDCODE_LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1),
            login_backoff_base_seconds=_int(env, "MEDCODE_LOGIN_BACKOFF_BASE_SECONDS", 2, minimum=1),
            login_backoff_max_seconds=_int(env, "MEDCODE_LOGIN_BACKOFF_MAX_SECONDS", 900, minimum=1),
            operator_token=operator_token,
            db_workers=_int(env, "MEDCODE_ACCOUNTS_DB_WORKERS", 8, minimum=1),
            hash_workers=_int(env, "MEDCODE_ACCOUNTS_HASH_WORKERS", 2, minimum=1),
        )
        if settings.session_idle_seconds > settings.session_absolute_seconds:
            raise SettingsError(
                "MEDCODE_SESSION_IDLE_SECONDS is longer than MEDCODE_SESSION_ABSOLUTE_SECONDS: "
                "a session can never be idle longer than it lives"
            )
        return settings
