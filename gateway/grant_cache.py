"""Code page grants this process has seen, so that re-opening a granted page skips the accounts call.

A grant never goes away within its period: accounts answers ALREADY_GRANTED to every re-open of
the same code by the same principal until the period ends (re-opens are free and write no event).
What can change is the token: a log-out here forgets the token at once; a log-out or expiry seen
only by another process is noticed within `ttl_seconds` (the trade for not writing to the accounts
database on every re-open). Bounded in tokens and in codes per token.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenGrants:
    # The latest quota answer this process saw for the token (for X-Quota-Remaining).
    remaining: int
    unlimited: bool
    period_end: float
    # (system, code key) -> when accounts last confirmed the grant (monotonic seconds).
    codes: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict)


class GrantCache:
    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_tokens: int = 50_000,
        max_codes_per_token: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_tokens = max_tokens
        self.max_codes_per_token = max_codes_per_token
        self.clock = clock
        self.wall_clock = wall_clock
        self._tokens: OrderedDict[str, TokenGrants] = OrderedDict()

    def granted(self, token: str, system: str, code_key: str) -> TokenGrants | None:
        """The token's grants when `code_key` was granted to it in the current period, recently confirmed."""
        grants = self._tokens.get(token)
        if grants is None:
            return None
        if self.wall_clock() >= grants.period_end:
            del self._tokens[token]
            return None
        confirmed_at = grants.codes.get((system, code_key))
        if confirmed_at is None or self.clock() - confirmed_at > self.ttl_seconds:
            return None
        return grants

    def remember(
        self, token: str, system: str, code_key: str, *, remaining: int, unlimited: bool, period_end: float
    ) -> None:
        """Record an allowed view (GRANTED or ALREADY_GRANTED) as accounts answered it."""
        if self.ttl_seconds <= 0:
            return
        grants = self._tokens.pop(token, None)
        if grants is None or grants.period_end != period_end:
            grants = TokenGrants(remaining, unlimited, period_end)
        grants.remaining, grants.unlimited = remaining, unlimited
        grants.codes[(system, code_key)] = self.clock()
        grants.codes.move_to_end((system, code_key))
        while len(grants.codes) > self.max_codes_per_token:
            grants.codes.popitem(last=False)
        self._tokens[token] = grants
        while len(self._tokens) > self.max_tokens:
            self._tokens.popitem(last=False)

    def note_remaining(self, token: str, remaining: int, unlimited: bool) -> None:
        """A newer quota answer for the token (a refusal, another page): re-opens report it."""
        grants = self._tokens.get(token)
        if grants is not None:
            grants.remaining, grants.unlimited = remaining, unlimited

    def forget(self, token: str) -> None:
        """The token ended here (log-out, registration of the guest): nothing of it is reused."""
        self._tokens.pop(token, None)

    def __len__(self) -> int:
        return len(self._tokens)
