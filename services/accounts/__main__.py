"""Start the accounts service: `python -m services.accounts` (settings from the environment)."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy.exc import OperationalError

from services.accounts.bootstrap import accounts_engine, start_accounts
from services.accounts.settings import AccountsSettings
from services.common.grpc_server import serve_until_signal
from services.common.logs import configure_logging
from services.common.settings import Settings, SettingsError
from services.common.telemetry import configure_tracing


async def main(settings: Settings, accounts_settings: AccountsSettings) -> None:
    configure_logging("accounts", settings.log_level)
    tracer_provider = configure_tracing("medcode-accounts")
    engine = accounts_engine(settings)
    try:
        running = await start_accounts(
            engine, settings.accounts_addr, accounts_settings, nats_url=settings.nats_url
        )
    except BaseException:
        engine.dispose()
        raise

    async def dispose_engine() -> None:
        engine.dispose()

    async def flush_spans() -> None:
        tracer_provider.shutdown()

    running.finalizers += [dispose_engine, flush_spans]
    await serve_until_signal(running)


def run() -> int:
    try:
        asyncio.run(main(Settings.from_env(), AccountsSettings.from_env()))
    except (SettingsError, OSError) as error:
        print(f"accounts: cannot start: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        print(f"accounts: cannot start: the database is not reachable: {error.orig}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(run())
