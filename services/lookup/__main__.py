"""Start the lookup service: `python -m services.lookup` (settings from the environment)."""

from __future__ import annotations

import asyncio

from services.common.logs import configure_logging
from services.common.settings import Settings
from services.common.telemetry import configure_tracing
from services.lookup.bootstrap import catalog_engine, start_lookup


async def main() -> None:
    settings = Settings.from_env()
    configure_logging("lookup", settings.log_level)
    tracer_provider = configure_tracing("medcode-lookup")
    engine = catalog_engine(settings)
    running = await start_lookup(engine, settings.lookup_addr)

    async def dispose_engine() -> None:
        engine.dispose()

    async def flush_spans() -> None:
        tracer_provider.shutdown()

    running.finalizers += [dispose_engine, flush_spans]
    from services.common.grpc_server import serve_until_signal

    await serve_until_signal(running)


if __name__ == "__main__":
    asyncio.run(main())
