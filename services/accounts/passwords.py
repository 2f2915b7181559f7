"""Password rules and hashing: argon2id with OWASP's parameters, hashed on a thread, never on the loop."""

from __future__ import annotations

import asyncio
import secrets
import string
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.accounts.errors import InvalidArgument

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
# Long enough for any passphrase, short enough that nobody makes us hash megabytes.
MAX_PASSWORD_LENGTH = 256
_DECORATION = string.digits + string.punctuation + " "


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def normalise_password(password: str) -> str:
    """NFKC, so that the same password typed on another keyboard or OS hashes the same (NIST 800-63B)."""
    return unicodedata.normalize("NFKC", password)


def check_password_rules(password: str, email: str, min_length: int) -> None:
    """InvalidArgument saying what to change when the password is too short, too long or too guessable."""
    if not password:
        raise InvalidArgument("password", "password is required", "FIELD_REQUIRED")
    password = normalise_password(password)
    if len(password) < min_length:
        raise InvalidArgument(
            "password",
            f"password has {len(password)} characters; use at least {min_length} (a few words make a good one)",
            "PASSWORD_TOO_SHORT",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidArgument(
            "password", f"password is longer than {MAX_PASSWORD_LENGTH} characters", "PASSWORD_TOO_LONG"
        )
    folded = password.casefold()
    if (
        folded in common_passwords()
        or folded.rstrip(_DECORATION) in common_passwords()
        or len(set(folded)) <= 2
    ):
        raise InvalidArgument(
            "password",
            "password is one of the most common passwords (or one with digits or symbols added): choose another",
            "PASSWORD_TOO_COMMON",
        )
    local_part = email.partition("@")[0]
    if len(local_part) >= 4 and local_part in folded:
        raise InvalidArgument(
            "password",
            "password contains the name of the email address: choose another",
            "PASSWORD_CONTAINS_EMAIL",
        )


class Passwords:
    """argon2id hashing and verification on a small thread pool (each hash holds ~19 MiB for ~20 ms)."""

    # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
    hasher = PasswordHasher(
        time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
    )

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        # Verified when the email is unknown, so that the answer takes as long as a wrong password.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hasher.hash, normalise_password(password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash (unknown email) it spends the same time and says no."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, self._verify, password_hash, normalise_password(password)
        )

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            matches = self.hasher.verify(password_hash or self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matches and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True for hashes made with older parameters (they are replaced at the next good login)."""
        return self.hasher.check_needs_rehash(password_hash)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
