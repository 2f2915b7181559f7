"""Lookup speed, as ratios against baselines measured in the same run (make bench).

- GetCode throughput against a bare gRPC server answering the same bytes, same client, ABAB.
- SearchCodes latency at concurrency 1 and throughput at 8 and 32 concurrent callers.
- Catalog build time (fresh), start-up time with a built catalog, resident memory.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from medcode.lookup.v1 import lookup_pb2 as pb
from medcode.lookup.v1 import lookup_pb2_grpc
from sqlalchemy import select

from services.lookup import storage

pytestmark = pytest.mark.perf
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = 2_000
CALLS = 4_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_codes(engine, n: int = SAMPLE) -> list[str]:
    with engine.connect() as conn:
        keys = (
            conn.execute(select(storage.codes.c.code_key).where(storage.codes.c.system == "icd10cm"))
            .scalars()
            .all()
        )
    return random.Random(7).sample(keys, n)


def start_lookup(url: str) -> tuple[subprocess.Popen, int, float]:
    port = free_port()
    env = {**os.environ, "MEDCODE_LOOKUP_DATABASE_URL": url, "MEDCODE_LOOKUP_ADDR": f"127.0.0.1:{port}"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.lookup"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                break
            except grpc.RpcError:
                if process.poll() is not None:
                    raise RuntimeError("lookup exited during start") from None
                time.sleep(0.02)
    return process, port, time.perf_counter() - started


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drive(
    port: int, requests: list, method: str, concurrency: int, warm_up: bool = True
) -> tuple[float, list[float]]:
    """Calls/s and per-call latencies (ms) for `requests` sent by `concurrency` callers on one channel."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = getattr(lookup_pb2_grpc.LookupServiceStub(channel), method)
        for request in requests[:50] if warm_up else []:
            await call(request)
        queue = list(reversed(requests))
        latencies: list[float] = []

        async def caller():
            while queue:
                request = queue.pop()
                t0 = time.perf_counter()
                await call(request)
                latencies.append((time.perf_counter() - t0) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        return len(requests) / (time.perf_counter() - t0), latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


@pytest.fixture(scope="module")
def lookup_process(catalog_engine):
    url = catalog_engine.url.render_as_string(hide_password=False)
    process, port, seconds = start_lookup(url)
    yield process, port, seconds
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def bare_process(catalog_engine):
    """The baseline server, answering the sampled codes with the lookup's own bytes."""
    codes = sample_codes(catalog_engine)
    url = catalog_engine.url.render_as_string(hide_password=False)
    bare = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/perf/bare_server.py"), url, ",".join(codes)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    yield int(bare.stdout.readline()), codes
    bare.terminate()
    bare.wait(10)


async def test_get_code_throughput_against_a_bare_server(lookup_process, bare_process):
    _, port, _ = lookup_process
    bare_port, codes = bare_process
    requests = [
        pb.GetCodeRequest(system=pb.CODE_SYSTEM_ICD10CM, code=random.Random(i).choice(codes))
        for i in range(CALLS)
    ]
    # Cold: every sampled code once, in random order, before any warm round: the lookup reads each
    # page from the database and assembles its inherited notes; the bare server only looks up bytes.
    first_time = [pb.GetCodeRequest(system=pb.CODE_SYSTEM_ICD10CM, code=code) for code in codes[50:]]
    cold_ours = (await drive(port, first_time, "GetCode", 1, warm_up=False))[0]
    cold_base = (await drive(bare_port, first_time, "GetCode", 1, warm_up=False))[0]
    rows = []
    for concurrency in (1, 8):
        ours, base = [], []
        for _ in range(3):  # ABAB: alternate so that noise hits both
            ours.append((await drive(port, requests, "GetCode", concurrency))[0])
            base.append((await drive(bare_port, requests, "GetCode", concurrency))[0])
        rows.append((concurrency, statistics.median(ours), statistics.median(base)))
    print("\nGetCode throughput (calls/s), lookup vs bare gRPC server with the same bytes")
    print(
        f"  first read of each code, concurrency 1: lookup {cold_ours:8.0f}  bare {cold_base:8.0f}"
        f"  ratio {cold_ours / cold_base:.2f}"
    )
    for concurrency, ours, base in rows:
        print(
            f"  concurrency {concurrency:>2}: lookup {ours:8.0f}  bare {base:8.0f}  ratio {ours / base:.2f}"
        )
    assert all(ours > 0 for _, ours, _ in rows)


SEARCH_QUERIES = [
    "E11.6",
    "diabetes",
    "type 2 diabetes with hyperglycemia",
    "fracture of right radius",
    "0DTJ",
    "appendectomy",
    "asthma",
    "htn",
    "heart attack",
    "pneumonia",
    "unspecified",
    "laparoscopic cholecystectomy",
    "S52.5",
    "chronic kidney disease stage 3",
    "broken arm",
    "copd exacerbation",
    "diabtes",
    "resection of appendix",
    "hypertension",
    "low back pain",
    "sepsis",
    "47.01",
    "250.00",
    "migraine",
    "urinary tract infection",
]


async def test_search_latency_and_throughput(lookup_process):
    _, port, _ = lookup_process
    requests = [pb.SearchCodesRequest(query=q, page_size=20) for q in SEARCH_QUERIES] * 40
    _, single = await drive(port, requests, "SearchCodes", 1)
    print(
        f"\nSearchCodes at concurrency 1 ({len(requests)} calls): p50 {pct(single, 50):.2f} ms  p99 {pct(single, 99):.2f} ms"
    )
    for concurrency in (8, 32):
        rate, latencies = await drive(port, requests, "SearchCodes", concurrency)
        print(
            f"SearchCodes at concurrency {concurrency}: {rate:.0f} calls/s, p99 {pct(latencies, 99):.2f} ms"
        )


async def test_list_children_latency(lookup_process):
    _, port, _ = lookup_process
    parents = [
        ("", pb.CODE_SYSTEM_ICD10CM),
        ("E11", pb.CODE_SYSTEM_ICD10CM),
        ("S52.521", pb.CODE_SYSTEM_ICD10CM),
        ("E08-E13", pb.CODE_SYSTEM_ICD10CM),
        ("0DT", pb.CODE_SYSTEM_ICD10PCS),
        ("47", pb.CODE_SYSTEM_ICD9PCS),
    ]
    requests = [
        pb.ListChildrenRequest(system=system, code=code, page_size=20) for code, system in parents
    ] * 100
    _, latencies = await drive(port, requests, "ListChildren", 1)
    print(
        f"\nListChildren at concurrency 1 ({len(requests)} calls): p50 {pct(latencies, 50):.2f} ms  p99 {pct(latencies, 99):.2f} ms"
    )


def test_start_up_and_memory(catalog_engine, lookup_process):
    process, _, seconds = lookup_process
    print(
        f"\nlookup start-up with a built catalog: {seconds:.2f} s to SERVING; resident memory {rss_mib(process.pid):.0f} MiB"
    )


def test_catalog_build_time(tmp_path):
    """A fresh build of every shipped code system into an empty SQLite file, in a child process."""
    env = {**os.environ, "MEDCODE_DATA_DIR": str(tmp_path)}
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "services.lookup.catalog", "build"],
        env=env,
        cwd=ROOT,
        check=True,
        stderr=subprocess.DEVNULL,
    )
    fresh = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "services.lookup.catalog", "build"],
        env=env,
        cwd=ROOT,
        check=True,
        stderr=subprocess.DEVNULL,
    )
    again = time.perf_counter() - t0
    size = (tmp_path / "lookup.db").stat().st_size / 2**20
    print(
        f"\ncatalog build: fresh {fresh:.1f} s, re-run (up to date) {again:.2f} s, SQLite file {size:.0f} MiB"
    )
