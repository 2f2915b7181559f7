"""Start the lookup service: `python -m services.lookup` (settings from the environment)."""

from __future__ import annotations

import asyncio
import sys

from services.common.grpc_server import serve_until_signal
from services.common.logs import configure_logging
from services.common.settings import Settings, SettingsError
from services.common.telemetry import configure_tracing
from services.lookup.bootstrap import CatalogMissing, catalog_engine, start_lookup


async def main(settings: Settings) -> None:
    configure_logging("lookup", settings.log_level)
    tracer_provider = configure_tracing("medcode-lookup")
    engine = catalog_engine(settings)
    try:
        running = await start_lookup(engine, settings.lookup_addr)
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
        asyncio.run(main(Settings.from_env()))
    except (SettingsError, CatalogMissing, OSError) as error:
        print(f"lookup: cannot start: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(run())
