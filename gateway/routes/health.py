"""Operations: alive, ready (every backend SERVING), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from gateway import metrics
from gateway.context import GatewayDep
from gateway.errors import Problem
from gateway.problems import problem_responses
from gateway.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> dict:
    return {"status": "alive"}


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Ready: every backend answers SERVING on grpc.health.v1",
    responses=problem_responses(503),
)
async def readyz(gw: GatewayDep) -> dict:
    backends = await gw.clients.serving(seconds=min(1.0, gw.settings.deadline_seconds))
    if gw.draining or any(status != "SERVING" for status in backends.values()):
        waiting = ", ".join(f"{name} {status}" for name, status in backends.items() if status != "SERVING")
        raise Problem(
            503,
            "NOT_READY",
            "the gateway is stopping" if gw.draining else f"not every backend is serving: {waiting}",
            headers={"Retry-After": str(gw.settings.retry_after_seconds)},
            backends=backends,
        )
    return {"status": "ready", "backends": backends}


@router.get(
    "/metrics",
    summary="Prometheus metrics: request rate, errors and duration per route",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}
    },
)
async def prometheus_metrics() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
