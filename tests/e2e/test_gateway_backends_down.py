"""A backend that is down or hangs: the gateway answers quickly (503 with Retry-After, or 504 at the
deadline), never shows a page without a grant, and serves again once the backend is back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.e2e.platform import ROOT, start_gateway, start_lookup, wait_http

DEADLINE = 1.0
PROBLEM_JSON = "application/problem+json"


class SilentBackend:
    """A TCP port that accepts connections and never says a word: a hung process, a black hole."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def own_lookup(catalog_url, tmp_path):
    lookup = start_lookup(catalog_url, tmp_path)
    yield lookup
    lookup.stop()


async def timed_get(url: str, path: str) -> tuple[httpx.Response, float]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        started = time.monotonic()
        answer = await client.get(path)
        return answer, time.monotonic() - started


async def test_lookup_down_gives_503_with_retry_after_within_the_deadline_and_recovers(
    platform, own_lookup, catalog_url, tmp_path
):
    gateway = start_gateway(
        own_lookup.address,
        platform.accounts.address,
        tmp_path,
        "gateway-lookup-down",
        MEDCODE_GATEWAY_DEADLINE_SECONDS=str(DEADLINE),
        MEDCODE_GATEWAY_PAGE_CACHE_ENTRIES="0",
    )
    url = f"http://{gateway.address}"
    try:
        own_lookup.kill()
        searched, search_seconds = await timed_get(url, "/v1/search?q=asthma")
        page, page_seconds = await timed_get(url, "/v1/codes/icd10cm/J45.909")
        ready, _ = await timed_get(url, "/readyz")

        assert searched.status_code == 503 and searched.headers["content-type"] == PROBLEM_JSON
        assert int(searched.headers["retry-after"]) >= 1
        assert searched.json()["reason"] == "BACKEND_UNAVAILABLE"
        assert search_seconds < DEADLINE and page_seconds < DEADLINE
        assert page.status_code == 503
        assert ready.status_code == 503 and ready.json()["backends"]["lookup"] == "UNREACHABLE"

        # Back on the same address: the gateway reconnects by itself (its back-off is at most 2 s).
        back = start_lookup(catalog_url, tmp_path, own_lookup.address)
        try:
            wait_http(gateway, "/readyz", timeout=10)
            searched, _ = await timed_get(url, "/v1/search?q=asthma")
            assert searched.status_code == 200
        finally:
            back.stop()
    finally:
        gateway.stop()


async def test_accounts_hanging_gives_no_page_and_an_answer_by_the_deadline(platform, tmp_path):
    silent = SilentBackend()
    gateway = start_gateway(
        platform.lookup.address,
        silent.address,
        tmp_path,
        "gateway-accounts-hang",
        wait_ready=False,
        MEDCODE_GATEWAY_DEADLINE_SECONDS=str(DEADLINE),
    )
    url = f"http://{gateway.address}"
    try:
        page, seconds = await timed_get(url, "/v1/codes/icd10cm/E11.9")
        # No grant, no page: a timeout (504) or, once gRPC gives up on the silent connection, 503.
        assert page.status_code in (503, 504) and page.headers["content-type"] == PROBLEM_JSON
        assert page.json()["reason"] in ("BACKEND_TIMEOUT", "BACKEND_UNAVAILABLE")
        assert seconds < DEADLINE + 1.0
        # Free routes that need only lookup still answer.
        searched, _ = await timed_get(url, "/v1/search?q=asthma")
        assert searched.status_code == 200
        ready, ready_seconds = await timed_get(url, "/readyz")
        assert ready.status_code == 503 and ready_seconds < DEADLINE + 1.0
    finally:
        gateway.stop()
        silent.close()


def test_the_gateway_refuses_to_start_with_unusable_settings(tmp_path):
    env = {**os.environ, "MEDCODE_TRUSTED_PROXIES": "proxy.internal", "MEDCODE_HTTP_ADDR": "127.0.0.1:0"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "MEDCODE_TRUSTED_PROXIES" in done.stderr and "proxy.internal" in done.stderr
