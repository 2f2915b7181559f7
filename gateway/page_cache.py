"""Rendered code pages, kept for a while: a page is the same for everyone until the catalog changes.

Holds the canonical code and the JSON body, never who may see them: grants are asked for (or
remembered, see grant_cache.py) per token. Bounded in entries, least recently used dropped first;
entries expire so that a rebuilt catalog shows within `ttl_seconds`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

# A page's canonical code (`E11.65`) and its JSON body.
Page = tuple[str, bytes]


class PageCache:
    def __init__(
        self, max_entries: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        # (system, code key) -> (stored at, (canonical code, JSON body)).
        self._pages: OrderedDict[tuple[str, str], tuple[float, Page]] = OrderedDict()

    def get(self, system: str, code_key: str) -> Page | None:
        entry = self._pages.get((system, code_key))
        if entry is None:
            return None
        stored_at, page = entry
        if self.clock() - stored_at > self.ttl_seconds:
            del self._pages[(system, code_key)]
            return None
        self._pages.move_to_end((system, code_key))
        return page

    def put(self, system: str, code_key: str, page: Page) -> None:
        if self.max_entries <= 0 or self.ttl_seconds <= 0:
            return
        self._pages[(system, code_key)] = (self.clock(), page)
        self._pages.move_to_end((system, code_key))
        while len(self._pages) > self.max_entries:
            self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)
