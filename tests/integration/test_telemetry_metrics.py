"""Prometheus metrics of a service: calls per RPC by status and their durations; outbox backlog and meter lag."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import httpx
import pytest
from medcode.accounts.v1 import accounts_pb2 as pb
from medcode.accounts.v1 import accounts_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from services.accounts import tables
from services.accounts.meter import start_meter
from services.accounts.server import SERVICE_NAME, AccountsServicer, build_handler
from services.accounts.use_cases import Accounts
from services.common import metrics
from services.common.grpc_server import start_server
from services.common.outbox_relay import start_outbox_relay
from tests.support.accounts_server import ADDRESS, ICD10CM, settings
from tests.support.events import eventually, sqlite_accounts, write_page_view
from tests.support.nats_server import NatsServer

CREATE_GUEST = "/medcode.accounts.v1.AccountsService/CreateGuest"
AUTHORIZE_VIEW = "/medcode.accounts.v1.AccountsService/AuthorizeView"


@pytest.fixture
async def endpoint():
    running = metrics.start_metrics_endpoint("accounts", {"MEDCODE_ACCOUNTS_METRICS_ADDR": "127.0.0.1:0"})
    yield running
    await running.stop()


def scrape(endpoint: metrics.MetricsEndpoint) -> dict[tuple[str, tuple], float]:
    """Every sample of the endpoint's text, by (sample name, sorted labels)."""
    text = httpx.get(f"http://{endpoint.address}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def calls(samples, method: str, code: str) -> float:
    return samples.get(("medcode_rpc_server_calls_total", (("code", code), ("method", method))), 0.0)


async def test_calls_are_counted_by_method_and_status_and_timed(tmp_path, endpoint):
    engine = sqlite_accounts(tmp_path / "accounts.db")
    accounts = Accounts(engine, settings())
    running = await start_server(
        "127.0.0.1:0",
        lambda server: None,
        [SERVICE_NAME],
        generic_handlers=[build_handler(AccountsServicer(accounts))],
        trace_calls=False,
    )
    before = scrape(endpoint)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = accounts_pb2_grpc.AccountsServiceStub(channel)
            for _ in range(3):
                await stub.CreateGuest(pb.CreateGuestRequest(client_address=ADDRESS))
            for token in ("not-a-token", "still-not-a-token"):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.AuthorizeView(
                        pb.AuthorizeViewRequest(
                            token=token, system=ICD10CM, code="I10", request_id=str(uuid.uuid4())
                        )
                    )
    finally:
        await running.stop(grace=1)
        await asyncio.to_thread(accounts.close)
        engine.dispose()
    after = scrape(endpoint)

    refused_code = refused.value.code().name
    assert refused_code != "OK"
    assert calls(after, CREATE_GUEST, "OK") - calls(before, CREATE_GUEST, "OK") == 3
    assert calls(after, AUTHORIZE_VIEW, refused_code) - calls(before, AUTHORIZE_VIEW, refused_code) == 2
    assert calls(after, AUTHORIZE_VIEW, "OK") == calls(before, AUTHORIZE_VIEW, "OK")
    count = ("medcode_rpc_server_duration_seconds_count", (("method", CREATE_GUEST),))
    total = ("medcode_rpc_server_duration_seconds_sum", (("method", CREATE_GUEST),))
    assert after[count] - before.get(count, 0) == 3
    assert 0 < after[total] - before.get(total, 0) < 30


async def test_the_backlog_and_the_meters_lag_follow_events_through_a_nats_outage(tmp_path, endpoint):
    engine = sqlite_accounts(tmp_path / "accounts.db")
    nats = NatsServer(tmp_path / "jetstream")  # not started yet: NATS is down
    name = f"relay-{uuid.uuid4().hex[:8]}"
    relay = await start_outbox_relay(engine, tables.outbox, nats.url, name=name, poll_interval=0.05)
    meter = await start_meter(engine, nats.url, name=f"meter-{name}")
    backlog = ("medcode_outbox_backlog", (("relay", name),))
    published = ("medcode_outbox_published_total", (("relay", name),))
    lag = ("medcode_consumer_lag", (("consumer", meter.name),))
    applied = ("medcode_meter_events_total", (("consumer", meter.name), ("outcome", "applied")))
    try:
        for _ in range(5):
            write_page_view(engine, str(uuid.uuid4()))
        assert scrape(endpoint)[backlog] == 5
        assert lag not in scrape(endpoint)  # the meter has fetched nothing yet: no figure rather than 0

        nats.start()
        await eventually(lambda: scrape(endpoint).get(applied) == 5, what="the meter applying the 5 events")
        await eventually(lambda: scrape(endpoint).get(lag) == 0, what="the meter's lag reaching 0")
        samples = scrape(endpoint)
        assert samples[backlog] == 0 and samples[published] == 5
    finally:
        await meter.stop()
        await relay.stop()
        nats.stop()
    stopped = scrape(endpoint)
    assert backlog not in stopped and lag not in stopped  # a stopped relay or meter reports nothing
    engine.dispose()


def test_a_metrics_address_that_is_not_host_and_port_is_refused():
    with pytest.raises(metrics.MetricsSettingsError, match="MEDCODE_LOOKUP_METRICS_ADDR"):
        metrics.start_metrics_endpoint("lookup", {"MEDCODE_LOOKUP_METRICS_ADDR": "9464"})
    assert metrics.start_metrics_endpoint("lookup", {}) is None
