"""Start the gateway: `python -m gateway` (MEDCODE_HTTP_ADDR, MEDCODE_GATEWAY_WORKERS, ...).

One worker by default; MEDCODE_GATEWAY_WORKERS=N runs N processes on the same socket (uvicorn's
supervisor restarts any that dies). SIGTERM or Ctrl-C stops accepting, lets in-flight requests end
(up to MEDCODE_GATEWAY_GRACE_SECONDS), then closes the backend channels and flushes spans.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile

import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from gateway.http_protocol import BoundedHttpToolsProtocol
from gateway.settings import GatewaySettings
from services.common.logs import configure_logging
from services.common.settings import Settings, SettingsError
from services.common.telemetry import configure_tracing


class _NoColours(logging.Filter):
    """uvicorn adds a `color_message` with terminal escapes to its records: not for JSON lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


def configure_gateway_logging(level: str) -> None:
    configure_logging("gateway", level)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_NoColours())


def worker_app() -> FastAPI:
    """The app as each worker process builds it: logging, tracing, then the app itself."""
    settings = GatewaySettings.from_env()
    configure_gateway_logging(Settings.from_env().log_level)
    tracer_provider = configure_tracing("medcode-gateway")
    return create_app(settings, finalizers=[tracer_provider.shutdown])


def uvicorn_config(settings: GatewaySettings) -> uvicorn.Config:
    host, _, port = settings.http_addr.rpartition(":")
    return uvicorn.Config(
        "gateway.__main__:worker_app",
        factory=True,
        host=host.strip("[]"),
        port=int(port),
        workers=settings.workers,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,
        # Our own settings decide which X-Forwarded-* to believe (gateway/security.py), not uvicorn's.
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_config=None,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=settings.grace_seconds,
        backlog=2048,
    )


def run() -> int:
    try:
        settings = GatewaySettings.from_env()
        common = Settings.from_env()
    except SettingsError as error:
        print(f"gateway: cannot start: {error}", file=sys.stderr)
        return 2
    configure_gateway_logging(common.log_level)
    metrics_dir = None
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its counters here; /metrics in any worker adds them all up.
        metrics_dir = tempfile.mkdtemp(prefix="medcode-gateway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    server = uvicorn.Server(uvicorn_config(settings))
    try:
        if settings.workers > 1:
            from uvicorn.supervisors import Multiprocess

            sock = server.config.bind_socket()
            Multiprocess(server.config, sockets=[sock]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"gateway: cannot start: {error}", file=sys.stderr)
        return 2
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0 if server.started or settings.workers > 1 else 2


if __name__ == "__main__":
    sys.exit(run())
