"""Start the accounts service: `python -m services.accounts` (settings from the environment)."""

from __future__ import annotations

import sys

from sqlalchemy.exc import OperationalError

from services.accounts.bootstrap import accounts_engine, start_accounts
from services.accounts.settings import AccountsSettings
from services.common.grpc_server import Finalizer, RunningServer
from services.common.service_main import finalizer_of, run_service
from services.common.settings import Settings


async def start(
    settings: Settings, accounts_settings: AccountsSettings, finalizers: list[Finalizer]
) -> RunningServer:
    """The accounts database's engine, and the server with its outbox relay and meter on it."""
    engine = accounts_engine(settings)
    finalizers.append(finalizer_of(engine.dispose))
    return await start_accounts(engine, settings.accounts_addr, accounts_settings, nats_url=settings.nats_url)


def unreachable_database(error: OperationalError) -> str:
    return f"the database is not reachable: {error.orig}"


def run() -> int:
    return run_service(
        "accounts",
        start,
        service_settings=[AccountsSettings.from_env],
        cannot_start={OperationalError: unreachable_database},
    )


if __name__ == "__main__":
    sys.exit(run())
