"""Providers that asked not to be called before a time, so no probe goes out before it.

A 429 on a route's own probe opens that route in the breaker, which already stops
its probes until the open time ends. A 429 on the liveness probe (list models)
is a provider-wide limit: every probe of that provider waits until its
Retry-After or reset hint has passed, and at least the rate-limit floor.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ProviderHolds:
    """When each held provider may be probed again (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    def hold(self, provider: str, seconds: float) -> None:
        """Probe `provider` again no sooner than `seconds` from now (a later hold wins)."""
        until = self._clock() + seconds
        self._until[provider] = max(until, self._until.get(provider, until))

    def held(self, provider: str) -> bool:
        until = self._until.get(provider)
        if until is None:
            return False
        if self._clock() >= until:
            del self._until[provider]
            return False
        return True
