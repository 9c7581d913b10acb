"""A worker's local view of every route: the breaker states it last heard of.

Fed by pub/sub transitions and periodic resyncs from Redis, in version order:
an older (or repeated) version never overwrites a newer one. Local suspicion
(a worker's own run of hard failures) lives beside the fleet state and never
becomes it. Time that compares with breaker times (open_until) is Redis time,
estimated from the offset measured at each resync.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from routeguard.breaker.types import BreakerState, RouteStatus, Transition


@dataclass(frozen=True)
class RouteView:
    """One route as this worker knows it."""

    route: str
    state: BreakerState = BreakerState.CLOSED
    version: int = 0
    reason: str = ""
    open_until_ms: int = 0
    since_ms: int = 0


class LocalView:
    """Every route's last known breaker state, plus this worker's suspicions."""

    def __init__(self, routes: Iterable[str], clock: Callable[[], float] = time.time) -> None:
        self._routes: dict[str, RouteView] = {r: RouteView(r) for r in routes}
        self._suspect_until: dict[str, float] = {}  # route -> local monotonic deadline
        self._clock = clock
        self._offset_ms = 0.0  # Redis time - local time, measured at resync
        self._synced_at: float | None = None  # local time of the last confirmed sync

    def __getitem__(self, route: str) -> RouteView:
        return self._routes[route]

    def __contains__(self, route: object) -> bool:
        return route in self._routes

    @property
    def routes(self) -> Mapping[str, RouteView]:
        return self._routes

    def redis_now_ms(self) -> float:
        """Redis's clock, as estimated from this worker's clock and the last offset."""
        return self._clock() * 1000 + self._offset_ms

    def staleness_s(self) -> float:
        """Seconds since the view was last confirmed complete (inf before the first)."""
        if self._synced_at is None:
            return float("inf")
        return max(0.0, self._clock() - self._synced_at)

    def apply(self, transition: Transition) -> bool:
        """A published transition; False when it is not newer than what we hold."""
        current = self._routes.get(transition.route)
        if current is None or transition.version <= current.version:
            return False
        self._routes[transition.route] = RouteView(
            route=transition.route,
            state=transition.to_state,
            version=transition.version,
            reason=transition.reason.value,
            open_until_ms=transition.open_until_ms,
            since_ms=transition.at_ms,
        )
        if transition.to_state != BreakerState.CLOSED:
            self._suspect_until.pop(transition.route, None)  # the fleet confirmed it
        return True

    def resync(
        self, statuses: Iterable[RouteStatus], redis_now_ms: int, *, authoritative: bool = False
    ) -> int:
        """A full read of the store; returns how many routes it changed.

        Normally an older version never replaces a newer one (a transition heard
        by pub/sub may overtake the read). `authoritative` takes the read as it
        is: after an outage Redis may have come back empty, and its versions
        start over below the ones this view holds.
        """
        changed = 0
        for status in statuses:
            current = self._routes.get(status.route)
            if current is None or (status.version < current.version and not authoritative):
                continue
            fresh = RouteView(
                status.route,
                status.state,
                status.version,
                status.reason.value if status.reason else "",
                status.open_until_ms,
                status.since_ms,
            )
            changed += fresh != current
            self._routes[status.route] = fresh
        now = self._clock()
        self._offset_ms = redis_now_ms - now * 1000
        self._synced_at = now
        return changed

    def suspect(self, route: str, until_local_s: float) -> None:
        """This worker saw enough hard failures to stop offering the route for a while."""
        self._suspect_until[route] = until_local_s

    def suspected(self, route: str, now_local_s: float) -> bool:
        deadline = self._suspect_until.get(route)
        if deadline is None:
            return False
        if now_local_s >= deadline:
            del self._suspect_until[route]
            return False
        return True

    def local_override(self, route: str, state: BreakerState, open_until_ms: int) -> None:
        """Fail-static: the local breaker's own decision while Redis is unreachable."""
        current = self._routes[route]
        self._routes[route] = replace(current, state=state, open_until_ms=open_until_ms)
