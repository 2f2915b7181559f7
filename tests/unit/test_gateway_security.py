"""Who is asking and from where: addresses through proxies, TLS, tokens, cookies, cross-site refusals."""

from __future__ import annotations

import pytest

from gateway.security import (
    BadAuthorization,
    bearer_token,
    came_over_tls,
    client_address,
    cookie_secure,
    cookie_token,
    cross_site_refusal,
    session_cookie,
)
from gateway.settings import SettingsError, parse_networks, parse_origins

PROXIES = parse_networks("10.0.0.0/8, 127.0.0.1")
GUEST = "mcg_" + "a" * 43
SESSION = "mcs_" + "B" * 43
OWN = "http://api.example.org"
ALLOWED = ("https://app.example.org",)


# -- client addresses ---------------------------------------------------------------------------


def test_without_trusted_proxies_the_socket_peer_is_the_client_whatever_the_headers_say():
    assert client_address("203.0.113.7", "198.51.100.1", ()) == "203.0.113.7"


def test_forwarded_for_from_an_untrusted_peer_is_ignored():
    assert client_address("203.0.113.7", "198.51.100.1", PROXIES) == "203.0.113.7"


def test_the_first_untrusted_hop_from_the_right_is_the_client():
    # The client wrote a fake first hop; our two proxies appended what they saw.
    chain = "192.0.2.66, 198.51.100.9, 10.1.2.3"
    assert client_address("10.0.0.5", chain, PROXIES) == "198.51.100.9"


def test_a_chain_of_only_trusted_proxies_gives_the_leftmost():
    assert client_address("127.0.0.1", "10.9.9.9, 10.1.1.1", PROXIES) == "10.9.9.9"


def test_a_malformed_hop_stops_at_the_last_address_a_proxy_vouched_for():
    assert client_address("10.0.0.5", "198.51.100.9, not-an-ip", PROXIES) == "10.0.0.5"


def test_ipv6_and_mapped_ipv4_hops_are_read():
    assert client_address("10.0.0.5", "2001:db8::1", PROXIES) == "2001:db8::1"
    assert client_address("10.0.0.5", "::ffff:198.51.100.4", PROXIES) == "198.51.100.4"


def test_tls_is_believed_from_the_socket_or_a_trusted_proxy_only():
    assert came_over_tls("https", "203.0.113.7", None, ())
    assert came_over_tls("http", "10.0.0.5", "https", PROXIES)
    assert not came_over_tls("http", "203.0.113.7", "https", PROXIES)
    assert not came_over_tls("http", "10.0.0.5", "http", PROXIES)


# -- tokens and the cookie ----------------------------------------------------------------------


def test_bearer_tokens_are_read_and_checked():
    assert bearer_token(None) is None
    assert bearer_token(f"Bearer {SESSION}") == SESSION
    assert bearer_token(f"bearer   {GUEST} ") == GUEST
    with pytest.raises(BadAuthorization):
        bearer_token("Basic dXNlcjpwYXNz")
    with pytest.raises(BadAuthorization):
        bearer_token("Bearer not-a-token")


def test_a_cookie_that_cannot_be_a_token_is_ignored():
    assert cookie_token(GUEST) == GUEST
    assert cookie_token("mcg_short") is None
    assert cookie_token("<script>") is None
    assert cookie_token(None) is None


def test_the_session_cookie_is_httponly_lax_and_secure_over_tls():
    cookie = session_cookie(SESSION, 3600, secure=True)
    assert cookie.startswith(f"medcode_session={SESSION};")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Max-Age=3600" in cookie and "Path=/" in cookie
    assert "Secure" not in session_cookie(SESSION, 3600, secure=False)


def test_cookie_security_follows_the_setting():
    assert cookie_secure("auto", True) and not cookie_secure("auto", False)
    assert cookie_secure("always", False)
    assert not cookie_secure("never", True)


# -- cross-site refusals ------------------------------------------------------------------------


def refusal(method="POST", *, bearer=False, cookie=True, site=None, origin=None):
    return cross_site_refusal(
        method,
        bearer=bearer,
        has_cookie=cookie,
        sec_fetch_site=site,
        origin=origin,
        own_origin=OWN,
        allowed_origins=ALLOWED,
    )


def test_a_cross_site_cookie_post_is_refused_even_from_an_allowed_origin():
    assert refusal(site="cross-site", origin="https://evil.example") is not None
    assert refusal(site="cross-site", origin="https://app.example.org") is not None


def test_an_origin_that_is_not_allowed_is_refused():
    assert refusal(origin="https://evil.example") is not None
    assert refusal(origin="null") is not None


def test_same_origin_and_allowed_same_site_front_ends_pass():
    assert refusal(site="same-origin", origin=OWN) is None
    assert refusal(site="same-site", origin="https://app.example.org") is None


def test_a_cross_origin_request_without_origin_is_refused():
    assert refusal(site="same-site") is not None
    assert refusal(site="cross-site", cookie=False) is not None


def test_an_allowed_front_end_on_another_site_may_register_without_a_cookie():
    assert refusal(site="cross-site", cookie=False, origin="https://app.example.org") is None


def test_bearer_requests_and_safe_methods_are_not_cross_site_forgeries():
    assert refusal(bearer=True, site="cross-site", origin="https://evil.example") is None
    assert refusal("GET", site="cross-site", origin="https://evil.example") is None


def test_programs_without_browser_headers_pass():
    assert refusal() is None


# -- settings -----------------------------------------------------------------------------------


def test_origins_and_proxies_are_parsed_and_checked():
    assert parse_origins("https://App.example.org/, http://localhost:5173") == (
        "https://app.example.org",
        "http://localhost:5173",
    )
    with pytest.raises(SettingsError):
        parse_origins("app.example.org")
    with pytest.raises(SettingsError):
        parse_origins("https://app.example.org/path")
    with pytest.raises(SettingsError):
        parse_networks("10.0.0.0/8, proxy.internal")
