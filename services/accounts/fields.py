"""Checks of the plain fields requests carry: ids, codes, plans. Each failure says what to send instead."""

from __future__ import annotations

import re
import uuid

from services.accounts.errors import InvalidArgument
from services.accounts.plans import ACCOUNT_PLANS

MAX_REQUEST_ID_LENGTH = 64
MAX_CODE_LENGTH = 32
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]+$")
# Codes of every system the platform carries: letters, digits, a dot, and a dash in ranges (E08-E13).
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:37] + "..."


def checked_request_id(request_id: str) -> str:
    request_id = request_id.strip()
    if not request_id:
        raise InvalidArgument(
            "request_id",
            "request_id is required: send one id (a UUID) per page open, the same on retries",
            "FIELD_REQUIRED",
        )
    if len(request_id) > MAX_REQUEST_ID_LENGTH or not _REQUEST_ID.match(request_id):
        raise InvalidArgument(
            "request_id",
            f"request_id {_shown(request_id)!r} must be 1 to {MAX_REQUEST_ID_LENGTH} letters, digits or ._:- (a UUID fits)",
            "REQUEST_ID_INVALID",
        )
    return request_id


def checked_code(code: str) -> str:
    """The code, upper-cased (dots kept as given; the grant ignores them)."""
    code = code.strip()
    if not code:
        raise InvalidArgument(
            "code", "code is required: the code whose page is opened, such as E11.9", "FIELD_REQUIRED"
        )
    if len(code) > MAX_CODE_LENGTH or not _CODE.match(code):
        raise InvalidArgument(
            "code",
            f"code {_shown(code)!r} is not a code: letters, digits and dots, at most {MAX_CODE_LENGTH} (such as E11.9)",
            "INVALID_CODE",
        )
    return code.upper()


def checked_account_id(account_id: str, field: str = "account_id") -> str:
    account_id = account_id.strip()
    bad = InvalidArgument(
        field,
        f"{field} {_shown(account_id)!r} is not an account id (a UUID as Register returned it)",
        "ACCOUNT_ID_INVALID",
    )
    if not account_id:
        raise InvalidArgument(
            field, f"{field} is required: the account's id as Register returned it", "FIELD_REQUIRED"
        )
    if len(account_id) > 36:
        raise bad
    try:
        return str(uuid.UUID(account_id))
    except ValueError:
        raise bad from None


def checked_account_plan(plan: str) -> str:
    plan = plan.strip().lower()
    if plan not in ACCOUNT_PLANS:
        raise InvalidArgument(
            "plan",
            f"plan {_shown(plan)!r} is not a plan an account can be on: use one of {', '.join(ACCOUNT_PLANS)}",
            "PLAN_UNKNOWN",
        )
    return plan
