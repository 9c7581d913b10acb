"""Helpers shared by the breaker integration tests."""

from __future__ import annotations

from routeguard.breaker import BreakerStore, Keys
from routeguard.config.policies import BreakerSettings

ROUTE = "sim/model-a"


def make_store(
    redis_url: str, keys: Keys, settings: BreakerSettings, **kwargs: object
) -> BreakerStore:
    """A store with one route on its own connection pool."""
    return BreakerStore.from_url(redis_url, {ROUTE: settings}, keys=keys, **kwargs)  # type: ignore[arg-type]
