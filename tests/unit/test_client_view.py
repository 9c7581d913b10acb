"""The worker's view takes Redis's versions in order, except when Redis forgot them."""

from __future__ import annotations

from routeguard.breaker.types import BreakerState, RouteStatus
from routeguard.client.view import LocalView


def status(state: str, version: int) -> RouteStatus:
    return RouteStatus.from_fields("p/x", {"state": state, "version": version})


def test_a_resync_never_replaces_a_newer_version_with_an_older_one() -> None:
    view = LocalView(["p/x"], clock=lambda: 100.0)
    view.resync([status("open", 7)], redis_now_ms=100_000)
    view.resync([status("closed", 6)], redis_now_ms=100_000)
    assert (view["p/x"].state, view["p/x"].version) == (BreakerState.OPEN, 7)


def test_an_authoritative_resync_takes_redis_back_at_lower_versions() -> None:
    """Redis restarted empty: its versions start over, and its word is the fleet state."""
    view = LocalView(["p/x"], clock=lambda: 100.0)
    view.resync([status("open", 7)], redis_now_ms=100_000)
    view.resync([status("closed", 0)], redis_now_ms=100_000, authoritative=True)
    assert (view["p/x"].state, view["p/x"].version) == (BreakerState.CLOSED, 0)
