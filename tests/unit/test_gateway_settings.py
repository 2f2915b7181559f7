"""The gateway's settings: local defaults, and a refusal to start on values it cannot use."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.settings import GatewaySettings, RateLimit
from services.common.settings import SettingsError


def test_the_defaults_are_the_local_ones():
    settings = GatewaySettings.from_env({})
    assert settings.http_addr == "127.0.0.1:8080"
    assert (settings.lookup_addr, settings.accounts_addr) == ("127.0.0.1:50051", "127.0.0.1:50052")
    assert settings.trusted_proxies == () and settings.allowed_origins == ()
    assert settings.cookie_secure == "auto" and settings.workers == 1


def test_the_environment_sets_limits_proxies_and_workers():
    settings = GatewaySettings.from_env(
        {
            "MEDCODE_HTTP_ADDR": "0.0.0.0:9000",
            "MEDCODE_TRUSTED_PROXIES": "10.0.0.0/8",
            "MEDCODE_ALLOWED_ORIGINS": "https://app.example.org",
            "MEDCODE_SEARCH_PER_ADDRESS_RATE": "2.5",
            "MEDCODE_SEARCH_PER_ADDRESS_BURST": "7",
            "MEDCODE_GATEWAY_WORKERS": "4",
            "MEDCODE_GATEWAY_GRANT_CACHE_SECONDS": "0",
            "MEDCODE_COOKIE_SECURE": "always",
        }
    )
    assert settings.http_addr == "0.0.0.0:9000"
    assert settings.trusted_proxies == (ipaddress.ip_network("10.0.0.0/8"),)
    assert settings.allowed_origins == ("https://app.example.org",)
    assert settings.search_per_address == RateLimit(2.5, 7)
    assert settings.workers == 4 and settings.grant_cache_seconds == 0
    assert settings.cookie_secure == "always"


@pytest.mark.parametrize(
    "name, value",
    [
        ("MEDCODE_GATEWAY_WORKERS", "0"),
        ("MEDCODE_GATEWAY_WORKERS", "many"),
        ("MEDCODE_GATEWAY_DEADLINE_SECONDS", "0"),
        ("MEDCODE_SEARCH_PER_ADDRESS_BURST", "0"),
        ("MEDCODE_COOKIE_SECURE", "sometimes"),
        ("MEDCODE_GATEWAY_MAX_BODY_BYTES", "10"),
        ("MEDCODE_HTTP_ADDR", "8080"),
        ("MEDCODE_TRUSTED_PROXIES", "proxy.internal"),
    ],
)
def test_unusable_values_stop_the_start(name, value):
    with pytest.raises(SettingsError, match=name):
        GatewaySettings.from_env({name: value})
