"""What the routes share: settings, backend clients, rate limits, rendered pages. Built once per app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from gateway.answer_cache import AnswerCache
from gateway.clients import GatewayClients
from gateway.grant_cache import GrantCache
from gateway.ratelimit import TokenBuckets
from gateway.settings import GatewaySettings


@dataclass
class Gateway:
    settings: GatewaySettings
    clients: GatewayClients
    search_by_address: TokenBuckets = field(init=False)
    search_by_principal: TokenBuckets = field(init=False)
    guests_by_address: TokenBuckets = field(init=False)
    # (system, code key) -> (canonical code, JSON body); search parameters -> JSON body.
    pages: AnswerCache[tuple[str, bytes]] = field(init=False)
    searches: AnswerCache[bytes] = field(init=False)
    grants: GrantCache = field(init=False)
    # Set when the process is stopping: /readyz answers 503 so that load balancers move on.
    draining: bool = False

    def __post_init__(self) -> None:
        self.search_by_address = TokenBuckets(self.settings.search_per_address)
        self.search_by_principal = TokenBuckets(self.settings.search_per_principal)
        self.guests_by_address = TokenBuckets(self.settings.guests_per_address)
        self.pages = AnswerCache(self.settings.page_cache_entries, self.settings.page_cache_seconds)
        self.searches = AnswerCache(self.settings.search_cache_entries, self.settings.page_cache_seconds)
        self.grants = GrantCache(self.settings.grant_cache_seconds)


async def gateway(request: Request) -> Gateway:
    """The dependency every route takes its shared parts from (async: a plain def would cost a thread hop)."""
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(gateway)]
