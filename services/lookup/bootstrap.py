"""The one place the lookup service's adapters are built: engine, repository, search index, server."""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, inspect

from services.common.db import create_db_engine
from services.common.grpc_server import RunningServer, start_server
from services.common.settings import Settings
from services.lookup.queries import Catalog
from services.lookup.repository import CatalogRepository
from services.lookup.server import SERVICE_NAME, LookupServicer, build_handler

log = logging.getLogger(__name__)


class CatalogMissing(RuntimeError):
    """The catalog has not been built into the configured database."""


def open_catalog(engine: Engine) -> Catalog:
    """The catalog's use cases over a built catalog, with its search index loaded."""
    if not inspect(engine).has_table("codes"):
        raise CatalogMissing(f"no catalog in {engine.url!r}: run `make catalog` first")
    from services.lookup.search_index_store import SearchIndexMissing, load_search_index

    started = time.perf_counter()
    try:
        index = load_search_index(engine)
    except SearchIndexMissing as error:
        raise CatalogMissing(str(error)) from error
    log.info("search index loaded", extra={"seconds": round(time.perf_counter() - started, 3)})
    return Catalog(CatalogRepository(engine), index)


async def start_lookup(engine: Engine, address: str) -> RunningServer:
    """Start the lookup service on `address` (port 0 in tests) over the catalog in `engine`."""
    catalog = open_catalog(engine)
    servicer = LookupServicer(catalog)
    running = await start_server(
        address, lambda server: None, [SERVICE_NAME], generic_handlers=[build_handler(servicer)]
    )
    return running


def catalog_engine(settings: Settings) -> Engine:
    return create_db_engine(settings.database_url("lookup"))
