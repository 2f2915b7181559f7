"""Start the lookup service: `python -m services.lookup` (settings from the environment)."""

from __future__ import annotations

import sys

from services.common.grpc_server import Finalizer, RunningServer
from services.common.service_main import finalizer_of, run_service
from services.common.settings import Settings
from services.lookup.bootstrap import CatalogMissing, catalog_engine, start_lookup


async def start(settings: Settings, finalizers: list[Finalizer]) -> RunningServer:
    """The catalog's engine, and the server reading it."""
    engine = catalog_engine(settings)
    finalizers.append(finalizer_of(engine.dispose))
    return await start_lookup(engine, settings.lookup_addr)


def run() -> int:
    return run_service("lookup", start, cannot_start={CatalogMissing: str})


if __name__ == "__main__":
    sys.exit(run())
