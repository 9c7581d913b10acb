"""Worker metrics (DESIGN §8): what real traffic saw, per provider and model."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from routeguard.config import Catalog
from routeguard.outcomes import Outcome


class WorkerMetrics:
    """Counters a routing worker exports; the registry comes from the worker."""

    def __init__(self, registry: CollectorRegistry, staleness: Callable[[], float]) -> None:
        self.requests = Counter(
            "routeguard_requests",
            "Calls this worker made to a route, by outcome class.",
            ["provider", "model", "outcome"],
            registry=registry,
        )
        self.failovers = Counter(
            "routeguard_failovers",
            "Requests that moved on from a route to the next candidate.",
            ["provider", "model", "public_model"],
            registry=registry,
        )
        self.panics = Counter(
            "routeguard_panic",
            "candidates() answers in which no route was healthy (all listed, least bad first).",
            ["public_model"],
            registry=registry,
        )
        staleness_gauge = Gauge(
            "routeguard_view_staleness_seconds",
            "Seconds since this worker's view of breaker states was last confirmed current.",
            registry=registry,
        )
        staleness_gauge.set_function(lambda: min(staleness(), 1e9))
        self.degraded = Gauge(
            "routeguard_client_degraded",
            "1 while Redis fails this worker's commands and local breakers decide (fail static).",
            registry=registry,
        )
        self.degraded_episodes = Counter(
            "routeguard_client_degraded_episodes",
            "Times this worker lost Redis and went fail static.",
            registry=registry,
        )

    def note_degraded(self, degraded: bool) -> None:
        """Called by the synchroniser on each change of fail-static mode."""
        self.degraded.set(1 if degraded else 0)
        if degraded:
            self.degraded_episodes.inc()

    def initialise(self, catalog: Catalog) -> None:
        """Create every series at 0 for the catalog's routes and public models.

        A counter that first appears at 1 hides that 1 from `rate()`: the first
        failures and failovers of an outage would never reach the dashboards.
        """
        for public_model, route_ids in catalog.models.items():
            self.panics.labels(public_model)
            for route_id in route_ids:
                route = catalog.routes[route_id]
                self.failovers.labels(route.provider, route.model, public_model)
        for route in catalog.routes.values():
            for outcome in Outcome:
                self.requests.labels(route.provider, route.model, outcome.value)
