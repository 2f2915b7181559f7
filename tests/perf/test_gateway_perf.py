"""Gateway speed at 32 concurrent connections, as ratios against a bare route of the same framework.

- A re-opened code page (granted before, Bearer token) and a search, each against a bare FastAPI
  route under the same uvicorn settings returning a JSON document of the same size (the gateway's
  own answer, captured first), measured in the same run, alternating (ABAB) so that noise on this
  shared machine hits both.
- One gateway worker and two (MEDCODE_GATEWAY_WORKERS=2, the bare app with two workers too).
- The same with the gateway's caches off: the re-open with MEDCODE_GATEWAY_GRANT_CACHE_SECONDS=0
  (every open asks accounts, which bounds it) and the search with
  MEDCODE_GATEWAY_SEARCH_CACHE_ENTRIES=0 (every search runs in lookup, which bounds it).

The load comes from wrk (Debian package `wrk`) when installed, else from an async httpx client
(much slower: it takes a core of its own, so its ratios run closer to 1). The bare app runs as
`python -m tests.perf.test_gateway_perf bare PAGE_JSON SEARCH_JSON PORT WORKERS`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.platform import Platform, Process, start_platform, wait_http
from tests.support.accounts_server import PASSWORD
from tests.support.nats_server import free_port

pytestmark = pytest.mark.perf
ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 32
SECONDS = 4
ROUNDS = 3
PAGE = "/v1/codes/icd10cm/E11.65"
SEARCH = "/v1/search?q=broken%20wrist&page_size=20"
UNLIMITED_SEARCH = {
    "MEDCODE_SEARCH_PER_ADDRESS_RATE": "1000000",
    "MEDCODE_SEARCH_PER_ADDRESS_BURST": "1000000",
    "MEDCODE_SEARCH_PER_PRINCIPAL_RATE": "1000000",
    "MEDCODE_SEARCH_PER_PRINCIPAL_BURST": "1000000",
    "MEDCODE_GATEWAY_DEADLINE_SECONDS": "5",
}


# -- the bare app --------------------------------------------------------------------------------


def bare_app():
    """FastAPI routes answering the captured documents, nothing else (uvicorn factory)."""
    from fastapi import FastAPI

    page = json.loads(Path(os.environ["BARE_PAGE_JSON"]).read_text())
    search = json.loads(Path(os.environ["BARE_SEARCH_JSON"]).read_text())
    app = FastAPI()

    @app.get("/bare/page")
    async def bare_page() -> dict:
        return page

    @app.get("/bare/search")
    async def bare_search() -> dict:
        return search

    return app


def serve_bare(page_json: str, search_json: str, port: int, workers: int) -> None:
    import uvicorn

    from gateway.http_protocol import BoundedHttpToolsProtocol

    os.environ.update(BARE_PAGE_JSON=page_json, BARE_SEARCH_JSON=search_json)
    uvicorn.run(
        "tests.perf.test_gateway_perf:bare_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,
        access_log=False,
        server_header=False,
        log_level="warning",
    )


def start_bare(directory: Path, page: bytes, search: bytes, workers: int) -> Process:
    (directory / "page.json").write_bytes(page)
    (directory / "search.json").write_bytes(search)
    port = free_port()
    log_path = directory / f"bare-{workers}.log"
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.perf.test_gateway_perf",
                "bare",
                str(directory / "page.json"),
                str(directory / "search.json"),
                str(port),
                str(workers),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
    process = Process(f"bare-{workers}", popen, f"127.0.0.1:{port}", log_path)
    wait_http(process, "/bare/page")
    return process


# -- load ----------------------------------------------------------------------------------------


@dataclass
class Run:
    per_second: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def drive_wrk(url: str, headers: dict[str, str]) -> Run:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+([\d.]+(?:us|ms|s))", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*timeout (\d+)", out)
    return Run(per_second, p99, (int(bad.group(1)) if bad else 0) + (int(errors.group(1)) if errors else 0))


async def _drive_httpx(url: str, headers: dict[str, str]) -> Run:
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + SECONDS
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:

        async def connection() -> None:
            nonlocal errors
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                answer = await client.get(url)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += answer.status_code != 200

        started = time.monotonic()
        await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
        elapsed = time.monotonic() - started
    return Run(len(latencies) / elapsed, statistics.quantiles(latencies, n=100)[98], errors)


def drive(url: str, headers: dict[str, str] | None = None) -> Run:
    headers = headers or {}
    if shutil.which("wrk"):
        return drive_wrk(url, headers)
    return asyncio.run(_drive_httpx(url, headers))


def compare(ours: str, bare: str, headers: dict[str, str]) -> dict[str, float]:
    """ABAB: bare, ours, bare, ours, ...; medians of each, and their ratio."""
    drive(bare)
    drive(ours, headers)  # warm both (page cache, connections, JIT-free but caches)
    bare_runs, our_runs = [], []
    for _ in range(ROUNDS):
        bare_runs.append(drive(bare))
        our_runs.append(drive(ours, headers))
    assert all(run.errors == 0 for run in our_runs + bare_runs), (our_runs, bare_runs)
    ours_rate = statistics.median(r.per_second for r in our_runs)
    bare_rate = statistics.median(r.per_second for r in bare_runs)
    return {
        "ours_per_second": ours_rate,
        "bare_per_second": bare_rate,
        "ratio": ours_rate / bare_rate,
        "ours_p99_ms": statistics.median(r.p99_ms for r in our_runs),
        "bare_p99_ms": statistics.median(r.p99_ms for r in bare_runs),
    }


# -- the benchmark -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def perf_platform(catalog_engine, tmp_path_factory) -> Platform:
    url = catalog_engine.url.render_as_string(hide_password=False)
    running = start_platform(url, tmp_path_factory.mktemp("gateway-perf"), **UNLIMITED_SEARCH)
    yield running
    running.stop()


def report(title: str, figures: dict[str, float]) -> None:
    print(
        f"{title:<38} gateway {figures['ours_per_second']:>7,.0f}/s p99 {figures['ours_p99_ms']:6.1f} ms | "
        f"bare {figures['bare_per_second']:>7,.0f}/s p99 {figures['bare_p99_ms']:6.1f} ms | "
        f"ratio {figures['ratio']:.2f}"
    )


def test_gateway_against_a_bare_route(perf_platform, tmp_path):
    base = perf_platform.url
    account = httpx.post(
        f"{base}/v1/accounts",
        json={"email": f"perf-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD},
    ).json()
    bearer = {"Authorization": f"Bearer {account['session_token']}"}
    page = httpx.get(f"{base}{PAGE}", headers=bearer)  # the grant; every open below re-opens it
    search = httpx.get(f"{base}{SEARCH}")
    assert page.status_code == 200 and search.status_code == 200
    print(
        f"\ndriver: {'wrk' if shutil.which('wrk') else 'httpx'}, {CONNECTIONS} connections, "
        f"{ROUNDS} x {SECONDS} s per side; page {len(page.content):,} B, search {len(search.content):,} B"
    )

    results = {}
    for workers in (1, 2):
        gateway = perf_platform.another_gateway(
            f"gateway-{workers}w", MEDCODE_GATEWAY_WORKERS=str(workers), **UNLIMITED_SEARCH
        )
        bare = start_bare(tmp_path, page.content, search.content, workers)
        try:
            ours, theirs = f"http://{gateway.address}", f"http://{bare.address}"
            results[("page", workers)] = compare(f"{ours}{PAGE}", f"{theirs}/bare/page", bearer)
            report(f"re-opened code page, {workers} worker(s)", results[("page", workers)])
            results[("search", workers)] = compare(f"{ours}{SEARCH}", f"{theirs}/bare/search", {})
            report(f"search, {workers} worker(s)", results[("search", workers)])
        finally:
            bare.stop()
            gateway.stop()

    uncached = perf_platform.another_gateway(
        "gateway-no-caches",
        MEDCODE_GATEWAY_GRANT_CACHE_SECONDS="0",
        MEDCODE_GATEWAY_SEARCH_CACHE_ENTRIES="0",
        **UNLIMITED_SEARCH,
    )
    bare = start_bare(tmp_path, page.content, search.content, 1)
    try:
        ours, theirs = f"http://{uncached.address}", f"http://{bare.address}"
        report(
            "re-opened page, grant cache off, 1 w", compare(f"{ours}{PAGE}", f"{theirs}/bare/page", bearer)
        )
        report("search, search cache off, 1 w", compare(f"{ours}{SEARCH}", f"{theirs}/bare/search", {}))
    finally:
        bare.stop()
        uncached.stop()

    page_1w, search_1w = results[("page", 1)], results[("search", 1)]
    assert page_1w["ratio"] >= 0.3 and page_1w["ours_p99_ms"] <= 50, page_1w
    assert search_1w["ratio"] >= 0.4, search_1w


if __name__ == "__main__":
    if sys.argv[1:2] == ["bare"]:
        serve_bare(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
