"""Prometheus metrics of the gateway: request rate, errors and duration per route, backend health.

With several workers each process counts its own; when PROMETHEUS_MULTIPROC_DIR is set (the
gateway's __main__ sets it for workers > 1) every process writes there and /metrics adds them up.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "medcode_gateway_requests_total",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
ERRORS = Counter(
    "medcode_gateway_request_errors_total",
    "HTTP requests answered with a 4xx or 5xx status, by route template and status",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "medcode_gateway_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
QUOTA_DECISIONS = Counter(
    "medcode_gateway_code_page_views_total",
    "Code page opens, by the accounts service's decision",
    ["decision"],
)
# Requests that matched no route are counted under one label, so that scanners cannot grow the series.
UNMATCHED = "unmatched"


def observe(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    if status >= 400:
        ERRORS.labels(method, route, str(status)).inc()
    DURATION.labels(method, route).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The Prometheus text of this process, or of every worker in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
