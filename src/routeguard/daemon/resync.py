"""What the probe scheduler reads back from Redis each resync, at a cost that does not
grow with the catalog.

Other processes move routes too (workers' reports, other replicas' trials and
clock ticks, operators' forces). Two reads tell the scheduler about them:

- the transitions since its cursor (`client.catchup`: two commands when nothing
  moved), so a route another process opened stops being probed, and a route
  gone half-open gets its trials, within one resync;
- the next slice of routes in turn, `SWEEP_ROUTES_PER_S` a second, with their
  run of consecutive failures: workers' failures that have not opened a route
  yet move no event, and make its probes come faster (`suspect_interval_s`).
"""

from __future__ import annotations

from routeguard.breaker import BreakerStore, RouteStatus
from routeguard.breaker.store import RECORD_AND_RUN_READ
from routeguard.client.catchup import full_read, read_changes

SWEEP_ROUTES_PER_S = 500
"""Routes re-read each second for their run of failures: every route each second up
to this many, a full sweep every `routes / SWEEP_ROUTES_PER_S` seconds beyond."""


class ScheduleResync:
    """The routes that changed since the last round, and the next slice of the sweep."""

    def __init__(
        self, store: BreakerStore, resync_s: float, sweep_per_s: int = SWEEP_ROUTES_PER_S
    ) -> None:
        self._store = store
        self._routes = store.routes
        self._slice = max(1, min(len(self._routes), round(sweep_per_s * resync_s)))
        self._next = 0
        self._cursor: str | None = None

    async def next_round(self) -> list[RouteStatus]:
        """The routes to note, oldest reads first; raises StoreUnavailable like the store."""
        changed = await (
            full_read(self._store)
            if self._cursor is None
            else read_changes(self._store, self._cursor)
        )
        self._cursor = changed.cursor
        _, swept = await self._store.records(self._sweep_slice(), read=RECORD_AND_RUN_READ)
        return [*changed.statuses, *swept]

    def _sweep_slice(self) -> list[str]:
        count = len(self._routes)
        if count == 0:
            return []
        start = self._next
        self._next = (start + self._slice) % count
        return [self._routes[(start + i) % count] for i in range(self._slice)]
