"""Fail static: the worker's own breakers while Redis cannot be reached.

Each route gets the pure-Python model of the fleet breaker (the same rules as
the Lua scripts), fed only with this worker's traffic and this worker's clock.
It decides only while the worker is cut off; when Redis answers again the
fleet state replaces it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping

from routeguard.breaker.model import RouteBreaker
from routeguard.breaker.types import BreakerParams, BreakerState, OutcomeBatch
from routeguard.config.policies import BreakerSettings


class LocalBreakers:
    """One model breaker per route, on the worker's clock."""

    def __init__(
        self,
        settings: Mapping[str, BreakerSettings],
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._params = {r: BreakerParams.from_settings(s) for r, s in settings.items()}
        self._clock = clock
        self._rng = rng or random.Random()
        self._breakers: dict[str, RouteBreaker] = {}

    def reset(self) -> None:
        """Forget every local decision (Redis is back: the fleet state rules)."""
        self._breakers.clear()

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def apply(self, route: str, batch: OutcomeBatch) -> tuple[BreakerState, int]:
        """Feed outcomes; return the local state and its open_until (local ms)."""
        breaker = self._breakers.get(route)
        if breaker is None:
            breaker = self._breakers[route] = RouteBreaker(route, self._params[route])
        breaker.apply(batch, self.now_ms(), self._rng.randrange(1000))
        record = breaker.record
        return record.state, record.open_until_ms
