"""The platform the end-to-end tests run against, started once per session."""

from __future__ import annotations

import pytest

from tests.e2e.platform import Addresses, Platform, start_platform


@pytest.fixture(scope="session")
def catalog_url(catalog_engine) -> str:
    return catalog_engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def platform(catalog_url, tmp_path_factory) -> Platform:
    running = start_platform(catalog_url, tmp_path_factory.mktemp("platform"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def new_address() -> Addresses:
    return Addresses()


@pytest.fixture(scope="session")
def api_schema(platform):
    """The gateway's own OpenAPI document, as the live gateway serves it (for schemathesis)."""
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{platform.url}/openapi.json")
    # Invalid input too large to read is refused as such: 413 (body) and 431 (headers).
    schema.config.checks.negative_data_rejection.expected_statuses.extend(["413", "431"])
    return schema
