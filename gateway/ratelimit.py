"""Token buckets in this process's memory, keyed by client address or principal.

One gateway process enforces its limits exactly. With several workers (MEDCODE_GATEWAY_WORKERS)
or replicas, each keeps its own buckets: a client spread over N of them gets up to N times the
rate. That is the intended trade for free search (no shared store on the hot path); the quota on
code pages is enforced by the accounts database, never here.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from gateway.settings import RateLimit


class TokenBuckets:
    """`take(key)` spends one token of the key's bucket: 0.0 when allowed, else the seconds to wait."""

    def __init__(
        self, limit: RateLimit, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self.clock = clock
        # key -> (tokens left, when they were counted); least recently used first.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        now = self.clock()
        tokens, counted_at = self._buckets.pop(key, (float(self.limit.burst), now))
        tokens = min(float(self.limit.burst), tokens + (now - counted_at) * self.limit.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            self._evict()
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.limit.rate

    def _evict(self) -> None:
        # Memory stays bounded whatever keys clients invent; an evicted key starts with a full
        # bucket, which is what a key idle for long would have anyway.
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(seconds: float) -> int:
    """Whole seconds for the Retry-After header, at least 1."""
    return max(1, math.ceil(seconds))
