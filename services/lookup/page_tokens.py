"""Opaque page tokens: an offset bound to the query it pages through (AIP-158)."""

from __future__ import annotations

import base64
import hashlib
import json

from services.lookup.errors import InvalidArgument

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def fingerprint(*parts: object) -> str:
    """A short digest of what a page token belongs to (the query and its filters)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def encode(offset: int, query_fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": query_fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, query_fingerprint: str) -> int:
    """The offset a token stands for; InvalidArgument when it is damaged or from another query."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset, owner = int(value["o"]), str(value["q"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidArgument(
            "page_token", "page_token is not one this service issued: pass next_page_token as given"
        ) from error
    if owner != query_fingerprint or offset < 0:
        raise InvalidArgument(
            "page_token",
            "page_token belongs to a different request: keep the query and filters of the first page",
        )
    return offset


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size", f"page_size must be 0..{MAX_PAGE_SIZE}; got {requested}")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)
