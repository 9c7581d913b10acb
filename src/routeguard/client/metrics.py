"""Worker metrics: what real traffic saw, per provider and model (docs/client.md).

Names, labels and help come from `routeguard.metric_names`.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry

from routeguard import metric_names as names
from routeguard.config import Catalog
from routeguard.outcomes import Outcome


class WorkerMetrics:
    """Counters a routing worker exports; the registry comes from the worker."""

    def __init__(self, registry: CollectorRegistry, staleness: Callable[[], float]) -> None:
        self.requests = names.counter(names.REQUESTS, registry)
        self.failovers = names.counter(names.FAILOVERS, registry)
        self.panics = names.counter(names.PANICS, registry)
        staleness_gauge = names.gauge(names.VIEW_STALENESS, registry)
        staleness_gauge.set_function(lambda: min(staleness(), 1e9))
        self.degraded = names.gauge(names.CLIENT_DEGRADED, registry)
        self.degraded_episodes = names.counter(names.CLIENT_DEGRADED_EPISODES, registry)

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
