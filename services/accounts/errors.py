"""Typed errors of the accounts domain; server.py maps each class to one gRPC status."""

from __future__ import annotations

from datetime import datetime


class AccountsError(Exception):
    """Base of the accounts domain's errors; `reason` is what a program branches on."""

    reason = "ACCOUNTS_ERROR"

    def __init__(self, message: str, reason: str | None = None, **metadata: str) -> None:
        super().__init__(message)
        self.message = message
        if reason:
            self.reason = reason
        self.metadata = metadata


class InvalidArgument(AccountsError):
    """A field is empty, too long or malformed."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, field: str, message: str, reason: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message, reason, field=field)
        self.field = field


class NotAuthenticated(AccountsError):
    """The token or the credentials do not identify anyone (unknown, expired, revoked, wrong)."""

    reason = "TOKEN_UNKNOWN"


class EmailTaken(AccountsError):
    reason = "EMAIL_TAKEN"

    def __init__(self) -> None:
        super().__init__("an account with this email exists already: log in, or register another email")


class LoginThrottled(AccountsError):
    """Too many failed logins for this account or address: try again at `retry_at`."""

    reason = "LOGIN_THROTTLED"

    def __init__(self, retry_at: datetime, retry_after_seconds: int, scope: str) -> None:
        super().__init__(
            f"too many failed logins from this {scope}: try again in {retry_after_seconds} s "
            f"(at {retry_at.isoformat(timespec='seconds')})",
            retry_after_seconds=str(retry_after_seconds),
            retry_at=retry_at.isoformat(timespec="seconds"),
            scope=scope,
        )
        self.retry_at = retry_at
        self.retry_after_seconds = retry_after_seconds


class NotOperator(AccountsError):
    reason = "OPERATOR_TOKEN_REQUIRED"


class AccountNotFound(AccountsError):
    reason = "ACCOUNT_NOT_FOUND"


class Unavailable(AccountsError):
    """The database did not answer (down, unreachable, or locked past the busy timeout)."""

    reason = "DATABASE_UNAVAILABLE"
