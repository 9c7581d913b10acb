"""Helpers shared by the breaker integration tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from routeguard.breaker import BreakerStore, Keys
from routeguard.config.policies import BreakerSettings

ROUTE = "sim/model-a"


def make_store(
    redis_url: str, keys: Keys, settings: BreakerSettings, **kwargs: object
) -> BreakerStore:
    """A store with one route on its own connection pool."""
    return BreakerStore.from_url(redis_url, {ROUTE: settings}, keys=keys, **kwargs)  # type: ignore[arg-type]


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, timeout_s: float = 5.0, what: str = "condition"
) -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        if await condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.005)
