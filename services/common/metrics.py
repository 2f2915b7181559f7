"""Prometheus metrics of a service: calls per RPC (count by status, duration), outbox backlog, meter lag.

A service exposes them on MEDCODE_<SERVICE>_METRICS_ADDR (host:port) when that is set, and only then
does it pay for the per-call interceptor. The outbox's and the meter's figures are read at scrape time
from the objects that keep them already (a count query, the meter's last `num_pending`, their stats),
so they cost nothing between scrapes.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from services.common.settings import SettingsError

log = logging.getLogger(__name__)

RPC_CALLS = Counter(
    "medcode_rpc_server_calls",
    "gRPC calls served, by full method name and status code",
    ["method", "code"],
)
RPC_DURATION = Histogram(
    "medcode_rpc_server_duration_seconds",
    "Time from a call's arrival in the servicer to its answer, by full method name",
    ["method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

_exposed = False


def metrics_exposed() -> bool:
    """Whether this process serves its metrics; servers record per-call figures only then."""
    return _exposed


class MetricsSettingsError(SettingsError):
    """MEDCODE_<SERVICE>_METRICS_ADDR is set but is not host:port (the process must not start)."""


@dataclass
class MetricsEndpoint:
    """A running /metrics endpoint; `stop` is a finalizer (RunningServer.finalizers takes it as is)."""

    address: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    async def stop(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def start_metrics_endpoint(service: str, env: Mapping[str, str] | None = None) -> MetricsEndpoint | None:
    """Serve /metrics on MEDCODE_<SERVICE>_METRICS_ADDR if it is set (port 0 picks one); else None.

    Call it before starting the gRPC server, so that the server installs the per-call interceptor.
    """
    env = os.environ if env is None else env
    name = f"MEDCODE_{service.upper()}_METRICS_ADDR"
    value = env.get(name, "").strip()
    if not value:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise MetricsSettingsError(f"{name}={value!r} is not HOST:PORT (for example 127.0.0.1:9464)")
    server, thread = start_http_server(int(port), addr=host)
    global _exposed
    _exposed = True
    log.info("serving metrics", extra={"address": f"{host}:{server.server_port}", "path": "/metrics"})
    return MetricsEndpoint(f"{host}:{server.server_port}", server.server_port, server, thread)


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """The per-call metrics interceptor when this process exposes metrics, else nothing."""
    return [RpcMetricsInterceptor()] if _exposed else []


def _code_name(context: grpc.aio.ServicerContext, default: str) -> str:
    code = context.code()
    if code is None:
        return default
    if isinstance(code, grpc.StatusCode):
        return code.name
    # Some grpc releases keep the number that abort() was given.
    return next((c.name for c in grpc.StatusCode if c.value[0] == code), default)


def _observed(behavior, method: str):
    duration = RPC_DURATION.labels(method)
    calls: dict[str, object] = {}

    def count(code: str) -> None:
        child = calls.get(code)
        if child is None:
            child = calls[code] = RPC_CALLS.labels(method, code)
        child.inc()  # type: ignore[attr-defined]

    async def observed(request, context):
        started = time.perf_counter()
        try:
            response = await behavior(request, context)
        except BaseException as error:
            # abort() raises after setting the status; anything else becomes UNKNOWN (or CANCELLED).
            fallback = "CANCELLED" if isinstance(error, asyncio.CancelledError) else "UNKNOWN"
            count(_code_name(context, fallback))
            raise
        finally:
            duration.observe(time.perf_counter() - started)
        count(_code_name(context, "OK"))
        return response

    return observed


class RpcMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts each unary call by method and status code and observes its duration."""

    def __init__(self) -> None:
        # One wrapped handler per method, built on its first call (generic handlers are long-lived).
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        if not inspect.iscoroutinefunction(handler.unary_unary):
            return handler
        wrapped = handler._replace(unary_unary=_observed(handler.unary_unary, method))
        self._wrapped[method] = (handler, wrapped)
        return wrapped


class _EventsCollector(Collector):
    """Figures of the outbox relays and meters alive in this process, read at scrape time."""

    def __init__(self) -> None:
        self.relays: weakref.WeakSet = weakref.WeakSet()
        self.meters: weakref.WeakSet = weakref.WeakSet()

    def collect(self):
        backlog = GaugeMetricFamily(
            "medcode_outbox_backlog",
            "Events in the outbox not yet acknowledged by JetStream",
            labels=["relay"],
        )
        published = CounterMetricFamily(
            "medcode_outbox_published", "Events the relay saw acknowledged by JetStream", labels=["relay"]
        )
        failed = CounterMetricFamily(
            "medcode_outbox_failed", "Publish attempts not acknowledged (retried later)", labels=["relay"]
        )
        by_relay: dict[str, list[float]] = {}
        for relay in list(self.relays):
            figures = by_relay.setdefault(relay.name, [0.0, 0.0, 0.0])
            try:
                # Several relays in one process share a table: the largest count, not the sum.
                figures[0] = max(figures[0], relay.count_backlog())
            except Exception as error:  # the database is away: say so in the logs, not in the scrape
                log.debug("outbox backlog unknown", extra={"relay": relay.name, "error": repr(error)})
            figures[1] += relay.stats.published
            figures[2] += relay.stats.failed
        for name, (waiting, sent, not_sent) in by_relay.items():
            backlog.add_metric([name], waiting)
            published.add_metric([name], sent)
            failed.add_metric([name], not_sent)
        lag = GaugeMetricFamily(
            "medcode_consumer_lag",
            "Messages the durable consumer still holds for this reader",
            labels=["consumer"],
        )
        events = CounterMetricFamily(
            "medcode_meter_events", "Events the meter handled, by outcome", labels=["consumer", "outcome"]
        )
        by_meter: dict[str, dict[str, float]] = {}
        lags: dict[str, float] = {}
        for meter in list(self.meters):
            outcomes = by_meter.setdefault(meter.name, {})
            for outcome in ("applied", "duplicates", "uncounted", "dead_lettered", "retried"):
                outcomes[outcome] = outcomes.get(outcome, 0.0) + getattr(meter.stats, outcome)
            if meter.lag is not None:
                lags[meter.name] = max(lags.get(meter.name, 0.0), meter.lag)
        for name, outcomes in by_meter.items():
            for outcome, value in outcomes.items():
                events.add_metric([name, outcome], value)
        for name, value in lags.items():
            lag.add_metric([name], value)
        return [backlog, published, failed, lag, events]


_EVENTS = _EventsCollector()
REGISTRY.register(_EVENTS)


def watch_outbox(relay) -> None:
    """Report a relay's backlog and counts (it needs `name`, `stats` and `count_backlog()`)."""
    _EVENTS.relays.add(relay)


def watch_meter(meter) -> None:
    """Report a meter's lag and counts (it needs `name`, `stats` and `lag`)."""
    _EVENTS.meters.add(meter)


def stop_watching(relay_or_meter) -> None:
    """Drop a stopped relay or meter from the figures (a stopped relay must not query its database)."""
    _EVENTS.relays.discard(relay_or_meter)
    _EVENTS.meters.discard(relay_or_meter)
