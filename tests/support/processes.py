"""Service processes in tests: a free port to give them, and waiting until their health says SERVING."""

from __future__ import annotations

import socket
import subprocess
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_serving(address: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Return once the process's gRPC health check at `address` says SERVING; fail with its stderr
    if it exits first, or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                command = " ".join(map(str, process.args)) if isinstance(process.args, list) else process.args
                raise AssertionError(f"`{command}` exited with {process.returncode}: {process.stderr.read()}")
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=0.5).status == 1:
                    return
            except grpc.RpcError:
                time.sleep(0.05)
    raise AssertionError(f"no SERVING from {address} within {timeout} s")
