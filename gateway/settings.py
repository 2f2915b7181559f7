"""The gateway's settings, read once from the environment; every default is the local one."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from services.common.settings import Settings, SettingsError

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
COOKIE_SECURE_MODES = ("auto", "always", "never")


def _number(env: dict[str, str], name: str, default: float, *, minimum: float, whole: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a {'whole ' if whole else ''}number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _int(env: dict[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    return int(_number(env, name, default, minimum=minimum, whole=True))


def parse_origins(raw: str, name: str = "MEDCODE_ALLOWED_ORIGINS") -> tuple[str, ...]:
    """`https://app.example.org, http://localhost:5173` → the origins, each `scheme://host[:port]`."""
    origins = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        parts = urlsplit(item)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or parts.path not in {"", "/"}
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise SettingsError(
                f"{name}: {item!r} is not an origin: write scheme://host[:port], such as https://app.example.org"
            )
        origins.append(item.rstrip("/").lower())
    return tuple(dict.fromkeys(origins))


def parse_networks(raw: str, name: str = "MEDCODE_TRUSTED_PROXIES") -> tuple[IpNetwork, ...]:
    """`10.0.0.0/8, 127.0.0.1` → the networks whose X-Forwarded-For the gateway believes."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(
                f"{name}: {item!r} is not an IP address or network (such as 10.0.0.0/8 or 127.0.0.1)"
            ) from None
    return tuple(networks)


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: `rate` requests per second on average, bursts of up to `burst`."""

    rate: float
    burst: int


@dataclass(frozen=True)
class GatewaySettings:
    http_addr: str = "127.0.0.1:8080"
    lookup_addr: str = "127.0.0.1:50051"
    accounts_addr: str = "127.0.0.1:50052"
    # Front-end origins allowed to call with credentials (CORS) and to send unsafe cookie requests.
    allowed_origins: tuple[str, ...] = ()
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed; nobody's by default.
    trusted_proxies: tuple[IpNetwork, ...] = ()
    # Every backend call's deadline; password calls (argon2 hashing) get their own.
    deadline_seconds: float = 2.0
    password_deadline_seconds: float = 6.0
    # What a 503 tells clients to wait before trying again.
    retry_after_seconds: int = 5
    max_body_bytes: int = 16 * 1024
    max_header_bytes: int = 16 * 1024
    search_per_address: RateLimit = field(default_factory=lambda: RateLimit(20, 40))
    search_per_principal: RateLimit = field(default_factory=lambda: RateLimit(10, 20))
    # New guests per client address: each is a row in the accounts database.
    guests_per_address: RateLimit = field(default_factory=lambda: RateLimit(0.2, 10))
    # "auto": Secure when the request came over TLS (or a trusted proxy says it did).
    cookie_secure: str = "auto"
    # Code pages are the same for everyone until the catalog changes: kept rendered for a while.
    page_cache_entries: int = 4096
    page_cache_seconds: float = 300.0
    # Search pages likewise (popular queries repeat; rate limits are taken before the cache is read).
    search_cache_entries: int = 2048
    # Re-opens of a page granted to the same token skip accounts for this long (0: ask every time).
    grant_cache_seconds: float = 60.0
    workers: int = 1
    # SIGTERM lets in-flight requests end for this long.
    grace_seconds: int = 10

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> GatewaySettings:
        env = dict(os.environ if env is None else env)
        common = Settings.from_env(env)
        secure = env.get("MEDCODE_COOKIE_SECURE", "auto").strip().lower() or "auto"
        if secure not in COOKIE_SECURE_MODES:
            raise SettingsError(f"MEDCODE_COOKIE_SECURE={secure!r}: use auto, always or never")

        def rate(prefix: str, default: RateLimit) -> RateLimit:
            return RateLimit(
                _number(env, f"{prefix}_RATE", default.rate, minimum=0.001),
                _int(env, f"{prefix}_BURST", default.burst, minimum=1),
            )

        return cls(
            http_addr=common.http_addr,
            lookup_addr=common.lookup_addr,
            accounts_addr=common.accounts_addr,
            allowed_origins=parse_origins(env.get("MEDCODE_ALLOWED_ORIGINS", "")),
            trusted_proxies=parse_networks(env.get("MEDCODE_TRUSTED_PROXIES", "")),
            deadline_seconds=_number(env, "MEDCODE_GATEWAY_DEADLINE_SECONDS", 2.0, minimum=0.05),
            password_deadline_seconds=_number(
                env, "MEDCODE_GATEWAY_PASSWORD_DEADLINE_SECONDS", 6.0, minimum=0.05
            ),
            retry_after_seconds=_int(env, "MEDCODE_GATEWAY_RETRY_AFTER_SECONDS", 5, minimum=1),
            max_body_bytes=_int(env, "MEDCODE_GATEWAY_MAX_BODY_BYTES", 16 * 1024, minimum=1024),
            max_header_bytes=_int(env, "MEDCODE_GATEWAY_MAX_HEADER_BYTES", 16 * 1024, minimum=4096),
            search_per_address=rate("MEDCODE_SEARCH_PER_ADDRESS", RateLimit(20, 40)),
            search_per_principal=rate("MEDCODE_SEARCH_PER_PRINCIPAL", RateLimit(10, 20)),
            guests_per_address=rate("MEDCODE_GUESTS_PER_ADDRESS", RateLimit(0.2, 10)),
            cookie_secure=secure,
            page_cache_entries=_int(env, "MEDCODE_GATEWAY_PAGE_CACHE_ENTRIES", 4096),
            page_cache_seconds=_number(env, "MEDCODE_GATEWAY_PAGE_CACHE_SECONDS", 300.0, minimum=0),
            search_cache_entries=_int(env, "MEDCODE_GATEWAY_SEARCH_CACHE_ENTRIES", 2048),
            grant_cache_seconds=_number(env, "MEDCODE_GATEWAY_GRANT_CACHE_SECONDS", 60.0, minimum=0),
            workers=_int(env, "MEDCODE_GATEWAY_WORKERS", 1, minimum=1),
            grace_seconds=_int(env, "MEDCODE_GATEWAY_GRACE_SECONDS", 10),
        )
