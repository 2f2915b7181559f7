"""What tracing costs (make bench): GetCode throughput and CPU per call with spans exported, against none.

Three lookup processes over the same catalog, measured in the same run, rounds alternated so that the
machine's noise hits each: no exporter (no per-call spans at all), OTLP over gRPC to a receiver in a
process of its own (as a collector on the same machine), and the local spool (`make run`'s default).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from medcode.lookup.v1 import lookup_pb2 as pb
from medcode.lookup.v1 import lookup_pb2_grpc
from sqlalchemy import select

from services.lookup import storage
from tests.support.accounts_server import free_port, wait_serving

pytestmark = pytest.mark.perf
ROOT = Path(__file__).resolve().parents[2]
CALLS = 3_000
ROUNDS = 3


def lookup_process(catalog_url: str, extra_env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    address = f"127.0.0.1:{free_port()}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MEDCODE_TRACE"))},
        "MEDCODE_LOOKUP_DATABASE_URL": catalog_url,
        "MEDCODE_LOOKUP_ADDR": address,
        **extra_env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.lookup"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    return process, address


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far: robust to other load on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def calls_per_second(address: str, pid: int, requests: list, concurrency: int) -> tuple[float, float]:
    """Calls per second, and the service's CPU microseconds per call."""
    async with grpc.aio.insecure_channel(address) as channel:
        get_code = lookup_pb2_grpc.LookupServiceStub(channel).GetCode
        for request in requests[:100]:  # warm: every process has read these codes before timing
            await get_code(request)
        queue = list(reversed(requests))

        async def caller():
            while queue:
                await get_code(queue.pop())

        started, cpu = time.perf_counter(), cpu_seconds(pid)
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        return len(requests) / seconds, (cpu_seconds(pid) - cpu) / len(requests) * 1e6


@pytest.fixture(scope="module")
def receiver():
    """An OTLP receiver in a process of its own: its gRPC port, and a function asking how many spans came."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.otlp_receiver"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def spans_received() -> int:
        process.stdin.write("\n")
        process.stdin.flush()
        return int(process.stdout.readline())

    try:
        yield int(process.stdout.readline().split()[0]), spans_received
    finally:
        process.stdin.close()
        process.wait(10)


@pytest.fixture(scope="module")
def lookups(catalog_engine, receiver, tmp_path_factory):
    """The same lookup service three times: without an exporter, exporting by OTLP, spooling."""
    url = catalog_engine.url.render_as_string(hide_password=False)
    grpc_port, _ = receiver
    variants = {
        "no exporter": {},
        "OTLP/gRPC": {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{grpc_port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        },
        "spool": {"MEDCODE_TRACE_SPOOL": "1", "MEDCODE_DATA_DIR": str(tmp_path_factory.mktemp("spool"))},
    }
    processes = {name: lookup_process(url, env) for name, env in variants.items()}
    try:
        for process, address in processes.values():
            wait_serving(address, process, timeout=120)
        yield {name: (address, process.pid) for name, (process, address) in processes.items()}
    finally:
        for process, _ in processes.values():
            process.terminate()
            process.wait(20)


def sample_requests(engine) -> list:
    with engine.connect() as conn:
        keys = conn.execute(
            select(storage.codes.c.code_key).where(storage.codes.c.system == "icd10cm").limit(5000)
        ).scalars()
        codes = random.Random(11).sample(list(keys), 300)
    return [
        pb.GetCodeRequest(system=pb.CODE_SYSTEM_ICD10CM, code=random.Random(i).choice(codes))
        for i in range(CALLS)
    ]


async def test_get_code_throughput_with_and_without_exported_spans(catalog_engine, receiver, lookups):
    requests = sample_requests(catalog_engine)
    _, spans_received = receiver
    exported_before = spans_received()
    results: dict[tuple[str, int], list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for concurrency in (1, 8):
        for _ in range(ROUNDS):
            for name, (address, pid) in lookups.items():
                rate, cpu_per_call = await calls_per_second(address, pid, requests, concurrency)
                results.setdefault((name, concurrency), []).append(rate)
                cpu.setdefault(name, []).append(cpu_per_call)
    await asyncio.sleep(1.0)  # the exporter's last batch (its schedule is 200 ms here)

    print(f"\nGetCode throughput (calls/s, median of {ROUNDS}), spans exported vs not, same run")
    for concurrency in (1, 8):
        bare = statistics.median(results[("no exporter", concurrency)])
        line = [f"  concurrency {concurrency}: no exporter {bare:7.0f}"]
        for name in ("OTLP/gRPC", "spool"):
            rate = statistics.median(results[(name, concurrency)])
            line.append(f"{name} {rate:7.0f} (x{rate / bare:.2f})")
        print("  ".join(line))
    bare_cpu = statistics.median(cpu["no exporter"])
    print(
        f"  service CPU per call (median of {2 * ROUNDS}): no exporter {bare_cpu:.0f} us  "
        + "  ".join(
            f"{name} {statistics.median(cpu[name]):.0f} us (+{statistics.median(cpu[name]) - bare_cpu:.0f})"
            for name in ("OTLP/gRPC", "spool")
        )
    )
    exported = spans_received() - exported_before
    print(f"  spans the OTLP process exported meanwhile: {exported}")
    # Every timed call of the OTLP process became a span that reached the receiver (warm-ups too).
    assert exported >= 2 * ROUNDS * CALLS
