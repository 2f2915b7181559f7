"""Email addresses as the accounts service keys them: trimmed, case-folded, the domain in IDNA form."""

from __future__ import annotations

import re
import unicodedata

from services.accounts.errors import InvalidArgument

MAX_EMAIL_LENGTH = 254
# Characters a mailbox name may not hold unquoted; quoted local parts are not accepted (nobody types them).
_LOCAL_FORBIDDEN = re.compile(r'[\s<>()\[\]\\,;:"@\x00-\x1f\x7f]')
_ASCII_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _bad(email: str, why: str) -> InvalidArgument:
    shown = email if len(email) <= 80 else email[:77] + "..."
    return InvalidArgument(
        "email", f"email {shown!r} is not an address ({why}): write it as name@example.org", "EMAIL_INVALID"
    )


def normalise_email(raw: str) -> str:
    """The one spelling of an address: `  Ana@Exämple.ORG ` → `ana@xn--exmple-cua.org`."""
    email = raw.strip()
    if not email:
        raise InvalidArgument("email", "email is required", "FIELD_REQUIRED")
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidArgument(
            "email",
            f"email is {len(email)} characters long; an address has at most {MAX_EMAIL_LENGTH}",
            "EMAIL_INVALID",
        )
    email = unicodedata.normalize("NFKC", email).casefold()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        raise _bad(raw.strip(), "it needs one @ between a name and a domain")
    if len(local) > 64:
        raise _bad(raw.strip(), "the part before @ is longer than 64 characters")
    if _LOCAL_FORBIDDEN.search(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise _bad(
            raw.strip(), "the part before @ holds a space, a second @ or a character addresses cannot have"
        )
    domain = domain.rstrip(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise _bad(raw.strip(), "the domain is not a valid domain name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_ASCII_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise _bad(raw.strip(), "the domain is not a valid domain name")
    normalised = f"{local}@{ascii_domain}"
    if len(normalised) > MAX_EMAIL_LENGTH:
        raise _bad(raw.strip(), f"it is longer than {MAX_EMAIL_LENGTH} characters once the domain is encoded")
    return normalised
