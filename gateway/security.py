"""Who is asking and from where: client addresses, TLS, tokens, the session cookie, cross-site refusals.

Pure decisions over header values, so that unit tests reach every case without a server.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.settings import IpNetwork

SESSION_COOKIE = "medcode_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The accounts service's token shape: a prefix saying what it is and 256 random bits (base64url).
TOKEN = re.compile(r"^(mcg|mcs)_[A-Za-z0-9_-]{43}$")
GUEST_PREFIX = "mcg_"
# A forwarded chain longer than this is not from a proxy path anyone runs.
MAX_FORWARDED_HOPS = 16

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(text: str) -> IpAddress | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def is_trusted(address: str | IpAddress | None, proxies: Iterable[IpNetwork]) -> bool:
    ip = _ip(address) if isinstance(address, str) else address
    return ip is not None and any(ip in network for network in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: tuple[IpNetwork, ...]) -> str:
    """The end user's address: the socket's peer, or X-Forwarded-For read from the right through trusted proxies.

    Each trusted proxy appends the address that connected to it; the first hop from the right that
    is not a trusted proxy is the client. Anything a client wrote further left is not believed, and
    a malformed hop stops the walk at the last address a trusted proxy vouched for.
    """
    if not forwarded_for or not proxies or not is_trusted(peer, proxies):
        return peer
    address = peer
    hops = forwarded_for.split(",")[-MAX_FORWARDED_HOPS:]
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            return address
        address = str(ip)
        if not is_trusted(ip, proxies):
            return address
    return address


def came_over_tls(
    scheme: str, peer: str, forwarded_proto: str | None, proxies: tuple[IpNetwork, ...]
) -> bool:
    """TLS on our own socket, or a trusted proxy says the client used https."""
    if scheme in ("https", "wss"):
        return True
    if forwarded_proto and is_trusted(peer, proxies):
        return forwarded_proto.split(",")[0].strip().lower() == "https"
    return False


@dataclass(frozen=True)
class Credential:
    """A token the request presented, and how: `bearer` (API clients) or `cookie` (browsers)."""

    token: str
    source: str

    @property
    def is_guest(self) -> bool:
        return self.token.startswith(GUEST_PREFIX)


class BadAuthorization(ValueError):
    """The Authorization header is present but not `Bearer <medcode token>`."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>`; None without the header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise BadAuthorization(
            "use `Authorization: Bearer <token>` with the token register or log in returned"
        )
    token = token.strip()
    if not TOKEN.match(token):
        raise BadAuthorization(
            "the bearer token is not a medcode token: send it as register or log in returned it"
        )
    return token


def cookie_token(value: str | None) -> str | None:
    """The session cookie's token; a cookie that cannot be one of ours is ignored (and replaced later)."""
    return value if value is not None and TOKEN.match(value) else None


def session_cookie(token: str, max_age: int, *, secure: bool) -> str:
    """The Set-Cookie value: HttpOnly (no script reads it), SameSite=Lax, Secure over TLS."""
    attributes = [
        f"{SESSION_COOKIE}={token}",
        "Path=/",
        f"Max-Age={max(0, max_age)}",
        "HttpOnly",
        "SameSite=Lax",
    ]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


def cleared_cookie(*, secure: bool) -> str:
    return session_cookie("", 0, secure=secure)


def cookie_secure(mode: str, over_tls: bool) -> bool:
    return mode == "always" or (mode == "auto" and over_tls)


def cross_site_refusal(
    method: str,
    *,
    bearer: bool,
    has_cookie: bool,
    sec_fetch_site: str | None,
    origin: str | None,
    own_origin: str,
    allowed_origins: tuple[str, ...],
) -> str | None:
    """Why an unsafe request must be refused as a cross-site forgery, or None to let it through.

    Bearer requests carry their credential explicitly: a forged request cannot. Otherwise a browser
    says where the request comes from: an Origin that is neither ours nor an allowed front-end is
    refused, and so is a cookie sent by a cross-site page (SameSite=Lax stops most; this stops the
    rest). Requests with neither header come from programs, not browsers, and are let through.
    """
    if method in SAFE_METHODS or bearer:
        return None
    site = (sec_fetch_site or "").lower()
    if origin is not None:
        origin = origin.strip().lower()
        if origin != own_origin and origin not in allowed_origins:
            return f"requests from {origin or 'an opaque origin'} are not allowed here"
    elif site in ("cross-site", "same-site"):
        return "a cross-origin request without an Origin header is not allowed here"
    if site == "cross-site" and has_cookie:
        return "a cookie-authenticated request from another site is not allowed: send the token as a Bearer header"
    return None
