"""Every route module, registered in one place; each module is independent of the others."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.routes import accounts, assistant, catalog, codes, health, search

ROUTERS = (search.router, codes.router, catalog.router, accounts.router, health.router, assistant.router)


def register_routes(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
