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


def stream_entry(route: str, to: str, *, version: int) -> dict[str, str | int]:
    """A stream entry as the scripts append it (lua/prelude.lua's EVENT_FIELDS)."""
    return {
        "route": route,
        "from": "closed",
        "to": to,
        "reason": "consecutive_failures",
        "detail": "",
        "version": version,
        "at_ms": 1,
        "open_until_ms": 0,
        "trips": 1,
        "calls": 0,
        "failures": 0,
        "slow": 0,
        "consecutive_failures": 5,
    }
