"""The whole platform for end-to-end tests: real processes on real sockets, started and stopped here.

NATS (tests/support/nats_server.py), `python -m services.lookup` over the session's catalog,
`python -m services.accounts` with its relay and meter, and `python -m gateway` processes configured
through the environment exactly as operators configure them. Each process logs to a file under the
test's directory (a pipe nobody reads would block it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.accounts_server import OPERATOR_TOKEN
from tests.support.nats_server import NatsServer, free_port

ROOT = Path(__file__).resolve().parents[2]
# Addresses the tests claim to come from, through the gateway's trusted proxy (127.0.0.1).
TEST_NETWORK = "198.51.100."


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    address: str
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def kill(self) -> None:
        """Gone at once, as a crash would take it."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def _clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MEDCODE_", "PROMETHEUS_"))}
    env.update(overrides)
    return env


def start(name: str, module: str, env: dict[str, str], address: str, log_dir: Path) -> Process:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        popen = subprocess.Popen([sys.executable, "-m", module], env=env, cwd=ROOT, stdout=log, stderr=log)
    return Process(name, popen, address, log_path)


def wait_grpc_serving(process: Process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(process.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise AssertionError(f"{process.name} exited while starting:\n{process.log_tail()}")
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=0.5).status == 1:
                    return
            except grpc.RpcError:
                time.sleep(0.05)
    raise AssertionError(f"{process.name} did not report SERVING within {timeout} s:\n{process.log_tail()}")


def wait_http(process: Process, path: str, timeout: float = 60.0) -> None:
    """Until GET path answers 200 (the gateway's /readyz turns 200 once every backend serves)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited while starting:\n{process.log_tail()}")
        try:
            if httpx.get(f"http://{process.address}{path}", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{process.name} {path} not 200 within {timeout} s:\n{process.log_tail()}")


def start_lookup(catalog_url: str, log_dir: Path, address: str | None = None) -> Process:
    address = address or f"127.0.0.1:{free_port()}"
    env = _clean_env(MEDCODE_LOOKUP_DATABASE_URL=catalog_url, MEDCODE_LOOKUP_ADDR=address)
    process = start("lookup", "services.lookup", env, address, log_dir)
    wait_grpc_serving(process)
    return process


def start_accounts(database_url: str, nats_url: str, log_dir: Path, **settings: str) -> Process:
    address = f"127.0.0.1:{free_port()}"
    env = _clean_env(
        MEDCODE_ACCOUNTS_DATABASE_URL=database_url,
        MEDCODE_ACCOUNTS_ADDR=address,
        MEDCODE_OPERATOR_TOKEN=OPERATOR_TOKEN,
        NATS_URL=nats_url,
        **settings,
    )
    process = start("accounts", "services.accounts", env, address, log_dir)
    wait_grpc_serving(process)
    return process


# Generous limits for tests that send bursts from a few addresses; limit tests set their own.
GATEWAY_DEFAULTS = {
    # A shared test machine can stall a backend for a second or two: not what these tests are about.
    "MEDCODE_GATEWAY_DEADLINE_SECONDS": "5",
    "MEDCODE_TRUSTED_PROXIES": "127.0.0.1",
    "MEDCODE_ALLOWED_ORIGINS": "https://app.example.org",
    "MEDCODE_SEARCH_PER_ADDRESS_RATE": "1000",
    "MEDCODE_SEARCH_PER_ADDRESS_BURST": "5000",
    "MEDCODE_SEARCH_PER_PRINCIPAL_RATE": "1000",
    "MEDCODE_SEARCH_PER_PRINCIPAL_BURST": "5000",
    "MEDCODE_GUESTS_PER_ADDRESS_RATE": "1000",
    "MEDCODE_GUESTS_PER_ADDRESS_BURST": "5000",
}


def start_gateway(
    lookup_addr: str,
    accounts_addr: str,
    log_dir: Path,
    name: str = "gateway",
    wait_ready: bool = True,
    **settings: str,
) -> Process:
    address = f"127.0.0.1:{free_port()}"
    env = _clean_env(
        MEDCODE_HTTP_ADDR=address,
        MEDCODE_LOOKUP_ADDR=lookup_addr,
        MEDCODE_ACCOUNTS_ADDR=accounts_addr,
        MEDCODE_DATA_DIR=str(log_dir),
        **{**GATEWAY_DEFAULTS, **settings},
    )
    process = start(name, "gateway", env, address, log_dir)
    wait_http(process, "/readyz" if wait_ready else "/healthz")
    return process


@dataclass
class Platform:
    nats: NatsServer
    lookup: Process
    accounts: Process
    gateway: Process
    log_dir: Path
    extra: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.gateway.address}"

    def another_gateway(self, name: str, wait_ready: bool = True, **settings: str) -> Process:
        """One more gateway over the same backends (other settings); stopped with the platform."""
        process = start_gateway(
            self.lookup.address, self.accounts.address, self.log_dir, name, wait_ready, **settings
        )
        self.extra.append(process)
        return process

    def stop(self) -> None:
        for process in [*self.extra, self.gateway, self.accounts, self.lookup]:
            process.stop()
        self.nats.stop()


def start_platform(catalog_url: str, directory: Path, **gateway_settings: str) -> Platform:
    directory.mkdir(parents=True, exist_ok=True)
    nats = NatsServer(directory / "nats").start()
    started: list[Process] = []
    try:
        lookup = start_lookup(catalog_url, directory)
        started.append(lookup)
        accounts = start_accounts(f"sqlite:///{directory / 'accounts.db'}", nats.url, directory)
        started.append(accounts)
        gateway = start_gateway(lookup.address, accounts.address, directory, **gateway_settings)
    except BaseException:
        for process in started:
            process.stop()
        nats.stop()
        raise
    return Platform(nats, lookup, accounts, gateway, directory)


class Addresses:
    """A fresh client address per call (198.51.100.0/24, RFC 5737): tests do not share guest limits."""

    def __init__(self) -> None:
        self.next = 1

    def __call__(self) -> str:
        if self.next > 254:
            raise AssertionError("out of test addresses: use fewer per session")
        address, self.next = f"{TEST_NETWORK}{self.next}", self.next + 1
        return address
