"""Opaque bearer tokens: 256 random bits behind a prefix that says what they are; stored only as hashes."""

from __future__ import annotations

import hashlib
import re
import secrets

from services.accounts.errors import InvalidArgument

GUEST_PREFIX = "mcg_"
SESSION_PREFIX = "mcs_"
# 32 random bytes in unpadded base64url.
_TOKEN = re.compile(r"^(mcg_|mcs_)[A-Za-z0-9_-]{43}$")
MAX_TOKEN_LENGTH = 100


def mint(prefix: str) -> tuple[str, str]:
    """A new token and the hash to store for it."""
    token = prefix + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    # A fast hash is enough: the token has 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def checked_token(token: str, field: str = "token") -> str:
    """The token, or InvalidArgument when it is empty or cannot be one this service issued."""
    token = token.strip()
    if not token:
        raise InvalidArgument(
            field, f"{field} is required: pass the guest or session token as issued", "FIELD_REQUIRED"
        )
    if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.match(token):
        raise InvalidArgument(
            field,
            f"{field} is not a medcode token (they start with {GUEST_PREFIX} or {SESSION_PREFIX} and have "
            "47 characters): pass it as CreateGuest, Register or Login returned it",
            "TOKEN_MALFORMED",
        )
    return token


def is_guest_token(token: str) -> bool:
    return token.startswith(GUEST_PREFIX)
