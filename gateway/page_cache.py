"""Rendered code pages, kept for a while: a page is the same for everyone until the catalog changes.

Holds the JSON body only (never who may see it: every open still asks accounts for a grant). Bounded
in entries, least recently used dropped first; entries expire so that a rebuilt catalog shows
within `ttl_seconds`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class PageCache:
    def __init__(
        self, max_entries: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._pages: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()

    def get(self, system: str, code_key: str) -> bytes | None:
        entry = self._pages.get((system, code_key))
        if entry is None:
            return None
        stored_at, body = entry
        if self.clock() - stored_at > self.ttl_seconds:
            del self._pages[(system, code_key)]
            return None
        self._pages.move_to_end((system, code_key))
        return body

    def put(self, system: str, code_key: str, body: bytes) -> None:
        if self.max_entries <= 0 or self.ttl_seconds <= 0:
            return
        self._pages[(system, code_key)] = (self.clock(), body)
        self._pages.move_to_end((system, code_key))
        while len(self._pages) > self.max_entries:
            self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)
