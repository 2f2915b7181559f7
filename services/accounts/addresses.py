"""Client addresses as the per-address limits count them: an IPv4 address or an IPv6 /64 network."""

from __future__ import annotations

import ipaddress

from services.accounts.errors import InvalidArgument

MAX_ADDRESS_LENGTH = 64


def client_network(address: str, *, required: bool) -> str | None:
    """`203.0.113.7` → itself; `2001:db8::1` → `2001:db8::/64` (one subscriber usually holds a whole /64)."""
    address = address.strip()
    if not address:
        if required:
            raise InvalidArgument(
                "client_address",
                "client_address is required for guests: pass the end user's IP address",
                "FIELD_REQUIRED",
            )
        return None
    try:
        if len(address) > MAX_ADDRESS_LENGTH:
            raise ValueError(address)
        ip = ipaddress.ip_address(address)
    except ValueError:
        shown = address if len(address) <= 64 else address[:61] + "..."
        raise InvalidArgument(
            "client_address",
            f"client_address {shown!r} is not an IP address: pass the end user's IPv4 or IPv6 address, without port",
            "CLIENT_ADDRESS_INVALID",
        ) from None
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
