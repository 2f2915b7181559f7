"""Answers that are the same for everyone until the catalog changes, kept rendered for a while.

Code pages (canonical code and JSON body) and search pages (JSON body): never who may see them,
since grants are asked for (or remembered, see grant_cache.py) per token and rate limits are taken
before the cache is read. Bounded in entries, least recently used dropped first; entries expire so
that a rebuilt catalog shows within `ttl_seconds`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Answer = TypeVar("Answer")


class AnswerCache(Generic[Answer]):
    def __init__(
        self, max_entries: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        # key -> (stored at, answer), least recently used first.
        self._answers: OrderedDict[Hashable, tuple[float, Answer]] = OrderedDict()

    def get(self, key: Hashable) -> Answer | None:
        entry = self._answers.get(key)
        if entry is None:
            return None
        stored_at, answer = entry
        if self.clock() - stored_at > self.ttl_seconds:
            del self._answers[key]
            return None
        self._answers.move_to_end(key)
        return answer

    def put(self, key: Hashable, answer: Answer) -> None:
        if self.max_entries <= 0 or self.ttl_seconds <= 0:
            return
        self._answers[key] = (self.clock(), answer)
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)
