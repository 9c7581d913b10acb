"""The probes' own metrics: counted as each probe finishes (docs/daemon.md, Metrics).

The runner owns these generic figures, as blackbox_exporter's prober does; names,
labels and help come from `routeguard.metric_names`. They have a series per route,
so they are `routeguard.series` families: the daemon writes them itself, fast.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from routeguard import metric_names as names
from routeguard.config import Catalog
from routeguard.outcomes import Outcome
from routeguard.series import CounterFamily, HistogramFamily
from routeguard.tiers import ProbeTier

# LLM-scaled: from a fast /models (tens of ms) to a slow reasoning answer (a minute).
DURATION_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0)
TTFT_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)


class ProbeMetrics(Collector):
    """Counters and histograms fed by the probe runner; on `registry` if one is given
    (the daemon gives none: it writes them with `write_text`)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.duration = HistogramFamily(names.PROBE_DURATION, DURATION_BUCKETS)
        self.ttft = HistogramFamily(names.PROBE_TTFT, TTFT_BUCKETS)
        self.probes = CounterFamily(names.PROBES)
        self.ttft_within = CounterFamily(names.PROBE_TTFT_WITHIN_OBJECTIVE)
        self.tokens = CounterFamily(names.PROBE_TOKENS)
        self._families = (self.duration, self.ttft, self.probes, self.ttft_within, self.tokens)
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterator[Metric]:
        for family in self._families:
            yield from family.collect()

    def write_text(self, out: list[str], wanted: frozenset[str] | None = None) -> None:
        """The families in the text format, appended to `out`: every one, or those with
        a sample name in `wanted`."""
        for family in self._families:
            if wanted is None or family.metric.samples & wanted:
                family.write_text(out)

    def initialise(self, catalog: Catalog) -> None:
        """Create every outcome's probe counter at 0 for the routes and tiers to be probed.

        A counter series that first appears at 2 hides those 2 from `rate()` and
        `increase()`: the first failures of an outage would never reach the SLIs.
        """
        for provider, model, tier in probed_series(catalog):
            for outcome in Outcome:
                self.probes.ensure((provider, model, tier.value, outcome.value))
            if tier is ProbeTier.STREAM:
                self.ttft_within.ensure((provider, model))

    def observe_ttft_objective(self, provider: str, model: str, within: bool | None) -> None:
        """Count a streamed probe whose TTFT met the route's objective (the SLI numerator)."""
        if within:
            self.ttft_within.inc((provider, model))


def probed_series(catalog: Catalog) -> list[tuple[str, str, ProbeTier]]:
    """(provider, model, tier) of every probe job: provider-level liveness, route tiers."""
    series: dict[tuple[str, str, ProbeTier], None] = {}
    for route in catalog.routes.values():
        for tier in route.probes.tiers:
            model = route.model if tier.per_route else names.PROVIDER_LEVEL
            series[(route.provider, model, tier)] = None
    return list(series)
