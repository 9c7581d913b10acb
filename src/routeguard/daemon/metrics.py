"""Prometheus metrics of the daemon (DESIGN §8).

Probe figures are counted as probes finish. Breaker state is never kept in step
by hand: `BreakerCollector` builds its families from a snapshot the HTTP handler
reads from Redis at scrape time (level-triggered, stable labels, one series per
state), so every replica exports the same fleet-wide truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from routeguard.breaker.types import BreakerState, RouteStatus
from routeguard.config import Catalog
from routeguard.config.policies import ProbeTier
from routeguard.outcomes import Outcome

LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# LLM-scaled: from a fast /models (tens of ms) to a slow reasoning answer (a minute).
DURATION_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0)
TTFT_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)
AUTOMATIC_TRANSITIONS = (
    ("closed", "open"),
    ("open", "half_open"),
    ("half_open", "closed"),
    ("half_open", "open"),
)
"""Exported at 0 for every route from the start, so `increase()` sees the first one."""
PROVIDER_LEVEL = "*"
"""The `model` label of provider-level probes (the liveness tier lists models)."""


class ProbeMetrics:
    """Counters and histograms fed by the probe runner."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["provider", "model", "tier"]
        self.duration = Histogram(
            "routeguard_probe_duration_seconds",
            "Probe duration from request start to the last byte, by tier.",
            labels,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.ttft = Histogram(
            "routeguard_probe_ttft_seconds",
            "Time to first token of streamed probes.",
            ["provider", "model"],
            buckets=TTFT_BUCKETS,
            registry=registry,
        )
        self.probes = Counter(
            "routeguard_probes_total",
            "Probes run, by tier and outcome class.",
            [*labels, "outcome"],
            registry=registry,
        )
        self.ttft_within = Counter(
            "routeguard_probe_ttft_within_objective_total",
            "Streamed probes whose TTFT was within the route's ttft_p95_s objective "
            "(the TTFT SLI numerator; routeguard_probe_ttft_seconds_count is the denominator).",
            ["provider", "model"],
            registry=registry,
        )
        self.tokens = Counter(
            "routeguard_probe_tokens_total",
            "Tokens spent by probes (direction: input or output).",
            ["provider", "model", "direction"],
            registry=registry,
        )

    def initialise(self, catalog: Catalog) -> None:
        """Create every outcome's probe counter at 0 for the routes and tiers to be probed.

        A counter series that first appears at 2 hides those 2 from `rate()` and
        `increase()`: the first failures of an outage would never reach the SLIs.
        """
        for provider, model, tier in probed_series(catalog):
            for outcome in Outcome:
                self.probes.labels(provider, model, tier, outcome.value)
            if tier == ProbeTier.STREAM.value:
                self.ttft_within.labels(provider, model)


def store_up_gauge(registry: CollectorRegistry) -> Gauge:
    """`routeguard_store_up`: did this scrape read the breaker states from Redis?"""
    return Gauge(
        "routeguard_store_up",
        "1 when this scrape read the breaker states from Redis; 0 when Redis failed or "
        "did not answer within 1 s (the route gauges are then absent, not stale).",
        registry=registry,
    )


class SchedulerMetrics:
    """The daemon's own health: is it keeping its probe schedule?"""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Histogram(
            "routeguard_probe_schedule_lag_seconds",
            "How late probe jobs start against their planned (jittered) time.",
            ["kind"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.skipped = Counter(
            "routeguard_probe_jobs_skipped_total",
            "Probe runs skipped because the previous run of the job was still going.",
            ["kind"],
            registry=registry,
        )


def probed_series(catalog: Catalog) -> list[tuple[str, str, str]]:
    """(provider, model, tier) of every probe job: provider-level liveness, route tiers."""
    series: dict[tuple[str, str, str], None] = {}
    for route in catalog.routes.values():
        for tier in route.probes.tiers:
            model = PROVIDER_LEVEL if tier is ProbeTier.LIVENESS else route.model
            series[(route.provider, model, tier.value)] = None
    return list(series)


DAEMON_LEVEL_METRICS = frozenset(
    {
        "routeguard_probe_schedule_lag_seconds",
        "routeguard_probe_jobs_skipped",
        "routeguard_store_up",
    }
)
"""Metrics about the daemon itself: the only ones without provider/model labels."""


@dataclass
class BreakerSnapshot:
    """What a scrape reads from Redis before the collector runs."""

    statuses: Sequence[RouteStatus] = ()
    transition_counts: Mapping[str, Mapping[tuple[str, str], int]] = field(default_factory=dict)


class BreakerCollector(Collector):
    """Route state, up, transitions and SLO objectives, built at scrape time."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self.snapshot = BreakerSnapshot()

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield from self._state_families()
        yield self._transitions()
        yield from self._objectives()
        yield self._model_routes()

    def _model_routes(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "routeguard_model_route_info",
            "1 for each route that can serve a public model (the catalog's failover lists).",
            labels=["public_model", "provider", "model"],
        )
        for public, route_ids in self._catalog.models.items():
            for route_id in route_ids:
                route = self._catalog.routes[route_id]
                family.add_metric([public, route.provider, route.model], 1.0)
        return family

    def _state_families(self) -> Iterator[GaugeMetricFamily]:
        state = GaugeMetricFamily(
            "routeguard_route_state",
            "1 for the route's current breaker state, 0 for the others.",
            labels=["provider", "model", "state"],
        )
        up = GaugeMetricFamily(
            "routeguard_route_up",
            "1 when the route takes ordinary traffic (closed or forced_closed).",
            labels=["provider", "model"],
        )
        for status in self.snapshot.statuses:
            route = self._catalog.routes[status.route]
            for candidate in BreakerState:
                value = 1.0 if candidate == status.state else 0.0
                state.add_metric([route.provider, route.model, candidate.value], value)
            up.add_metric(
                [route.provider, route.model], 1.0 if status.state.admits_traffic else 0.0
            )
        yield state
        yield up

    def _transitions(self) -> CounterMetricFamily:
        family = CounterMetricFamily(
            "routeguard_breaker_transitions",
            "Breaker transitions of the route, fleet-wide (read from Redis).",
            labels=["provider", "model", "from", "to"],
        )
        for route_id, route in self._catalog.routes.items():
            counted = self.snapshot.transition_counts.get(route_id, {})
            moves = dict.fromkeys(AUTOMATIC_TRANSITIONS, 0) | dict(counted)
            for (from_state, to_state), count in sorted(moves.items()):
                family.add_metric([route.provider, route.model, from_state, to_state], count)
        return family

    def _objectives(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "routeguard_slo_objective_ratio",
            "SLO objectives per route: availability, and the share of streamed "
            "probes whose TTFT must stay within ttft_p95_s (0.95).",
            labels=["provider", "model", "slo"],
        )
        threshold = GaugeMetricFamily(
            "routeguard_slo_ttft_threshold_seconds",
            "The TTFT objective's threshold (ttft_p95_s) per route.",
            labels=["provider", "model"],
        )
        for route in self._catalog.routes.values():
            family.add_metric([route.provider, route.model, "availability"], route.slo.availability)
            family.add_metric([route.provider, route.model, "ttft"], 0.95)
            threshold.add_metric([route.provider, route.model], route.slo.ttft_p95_s)
        yield family
        yield threshold
