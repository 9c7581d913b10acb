"""A worker's local view of every route: the breaker states it last heard of.

Fed by pub/sub transitions and periodic resyncs from Redis, in version order:
an older (or repeated) version never overwrites a newer one. Local suspicion
(a worker's own run of hard failures) lives beside the fleet state and never
becomes it. Time that compares with breaker times (open_until) is Redis time,
estimated from the offset measured at each resync.

Every change that can change a ranking is told to `on_change` (the route, or
None for all of them: the clock offset moved), which is how HealthClient's
cached rankings are invalidated (client/ranked.py).
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


ChangeHook = Callable[[str | None], None]


def _ignore(route: str | None) -> None:
    """The default change hook: nobody caches anything derived from this view."""


class LocalView:
    """Every route's last known breaker state, plus this worker's suspicions."""

    def __init__(
        self,
        routes: Iterable[str],
        clock: Callable[[], float] = time.time,
        on_change: ChangeHook = _ignore,
    ) -> None:
        self._routes: dict[str, RouteView] = {r: RouteView(r) for r in routes}
        self._suspect_until: dict[str, float] = {}  # route -> local deadline (clock's seconds)
        self._clock = clock
        self._on_change = on_change
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
        return self.redis_ms_at(self._clock())

    def redis_ms_at(self, local_s: float) -> float:
        """The Redis time (ms) of local time `local_s`, by the last measured offset."""
        return local_s * 1000 + self._offset_ms

    def local_s_at(self, redis_ms: float) -> float:
        """The local time (s) of Redis time `redis_ms`, by the last measured offset."""
        return (redis_ms - self._offset_ms) / 1000

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
        self._on_change(transition.route)
        return True

    def resync(
        self, statuses: Iterable[RouteStatus], redis_now_ms: int, *, authoritative: bool = False
    ) -> int:
        """A read of the store (every route, or those that changed); returns how many
        routes it changed. It confirms the whole view as of now: its caller read
        every route, or knows from the events stream that the others did not move.

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
            if fresh != current:
                changed += 1
                self._routes[status.route] = fresh
                self._on_change(status.route)
        now = self._clock()
        offset_ms = redis_now_ms - now * 1000
        if offset_ms != self._offset_ms:  # every time-based deadline moved with it
            self._offset_ms = offset_ms
            self._on_change(None)
        self._synced_at = now
        return changed

    def suspect(self, route: str, until_local_s: float) -> None:
        """This worker saw enough hard failures to stop offering the route for a while."""
        self._suspect_until[route] = until_local_s
        self._on_change(route)

    def suspected_until(self, route: str) -> float | None:
        """The local time at which this worker's suspicion of `route` ends, if any."""
        return self._suspect_until.get(route)

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
        self._on_change(route)
