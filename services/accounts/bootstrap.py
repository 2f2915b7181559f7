"""The one place the accounts service's adapters are built: engine, schema, use cases, server, relay, meter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from services.accounts.migrate import current_revision, upgrade_to_head
from services.accounts.server import SERVICE_NAME, AccountsServicer, build_handler
from services.accounts.settings import AccountsSettings
from services.accounts.tables import outbox
from services.accounts.transactions import write_transaction
from services.accounts.use_cases import Accounts, utc_now
from services.common.db import create_db_engine
from services.common.grpc_server import RunningServer, start_server
from services.common.settings import Settings

log = logging.getLogger(__name__)


def accounts_engine(settings: Settings) -> Engine:
    return create_db_engine(settings.database_url("accounts"))


async def start_accounts(
    engine: Engine,
    address: str,
    settings: AccountsSettings,
    *,
    nats_url: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> RunningServer:
    """Migrate the schema, then serve AccountsService on `address` (port 0 in tests).

    With `nats_url`, the outbox relay and the meter run beside the server (NATS being down delays
    events, never a request); without it events wait in the outbox, as tests of the quota want.
    """
    await asyncio.to_thread(upgrade_to_head, engine)
    log.info("accounts schema ready", extra={"revision": current_revision(engine)})
    accounts = Accounts(engine, settings, clock=clock)
    finalizers = []
    try:
        if nats_url:
            from services.accounts.meter import start_meter
            from services.common.outbox_relay import start_outbox_relay

            relay = await start_outbox_relay(
                engine, outbox, nats_url, name="accounts-outbox", write_transaction=write_transaction
            )
            finalizers.append(relay.stop)
            accounts.on_event_committed = relay.notify
            meter = await start_meter(engine, nats_url)
            finalizers.append(meter.stop)
        running = await start_server(
            address,
            lambda server: None,
            [SERVICE_NAME],
            generic_handlers=[build_handler(AccountsServicer(accounts))],
        )
    except BaseException:
        for stop in reversed(finalizers):
            await stop()
        accounts.close()
        raise

    async def close_use_cases() -> None:
        await asyncio.to_thread(accounts.close)

    # After the server has drained: stop publishing and metering, then the worker threads.
    running.finalizers += [*finalizers, close_use_cases]
    return running
