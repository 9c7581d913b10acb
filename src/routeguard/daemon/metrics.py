"""Prometheus metrics of the daemon itself and of the breaker (docs/daemon.md, Metrics).

Breaker state is never kept in step by hand: `BreakerCollector` builds its
families from a snapshot the HTTP handler reads from Redis at scrape time
(level-triggered, stable labels, one series per state), so every replica exports
the same fleet-wide truth. The probes' own metrics are in `probes/metrics.py`;
every name and label comes from `routeguard.metric_names`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from routeguard import metric_names as names
from routeguard.breaker.types import BreakerState, RouteStatus
from routeguard.config import Catalog
from routeguard.metric_names import ROUTE_LABELS
from routeguard.series import escape, label_text, number

LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
AUTOMATIC_TRANSITIONS = (
    ("closed", "open"),
    ("open", "half_open"),
    ("half_open", "closed"),
    ("half_open", "open"),
)
"""Exported at 0 for every route from the start, so `increase()` sees the first one."""
TTFT_OBJECTIVE_RATIO = 0.95
"""The share of streamed probes whose TTFT must be within ttft_p95_s (it is a p95)."""


def store_up_gauge(registry: CollectorRegistry) -> Gauge:
    """`routeguard_store_up`: did this scrape read the breaker states from Redis?"""
    return names.gauge(names.STORE_UP, registry)


class SchedulerMetrics:
    """The daemon's own health: is it keeping its probe schedule?"""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = names.histogram(names.SCHEDULE_LAG, registry, LAG_BUCKETS)
        self.skipped = names.counter(names.JOBS_SKIPPED, registry)


class WatchMetrics:
    """The watch feed: clients connected, clients dropped for reading too slowly."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.watchers = names.gauge(names.WATCHERS, registry)
        self.dropped = names.counter(names.WATCHERS_DROPPED, registry)


def _header(out: list[str], metric: names.Metric) -> None:
    name = metric.name + ("_total" if metric.kind == "counter" else "")
    out.append(f"# HELP {name} {metric.help}\n# TYPE {name} {metric.kind}\n")


def _gauge(metric: names.Metric) -> GaugeMetricFamily:
    return GaugeMetricFamily(metric.name, metric.help, labels=list(metric.labels))


@dataclass
class BreakerSnapshot:
    """What a scrape reads from Redis before the collector runs. Unread (Redis did not
    answer), it has no state and no transition count: unknown, never a stale "closed" or
    counters gone back to 0 (which Prometheus would take for a reset, then a jump)."""

    statuses: Sequence[RouteStatus] = ()
    transition_counts: Mapping[str, Mapping[tuple[str, str], int]] = field(default_factory=dict)
    read: bool = True


class BreakerCollector(Collector):
    """Route state, up, transitions and SLO objectives, built at scrape time."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self.snapshot = BreakerSnapshot()
        self._route_labels = {
            route.id: label_text(ROUTE_LABELS, (route.provider, route.model))
            for route in catalog.routes.values()
        }

    def write_text(self, out: list[str], snapshot: BreakerSnapshot) -> None:
        """The families of `snapshot` in the text format (what `collect` gives, written fast:
        each route's label text is made once)."""
        labels = self._route_labels
        _header(out, names.ROUTE_STATE)
        for status in snapshot.statuses:
            for state in BreakerState:
                value = "1.0" if state == status.state else "0.0"
                out.append(
                    f'{names.ROUTE_STATE.name}{{{labels[status.route]},{names.STATE}="{state.value}"}} {value}\n'
                )
        _header(out, names.ROUTE_UP)
        for status in snapshot.statuses:
            up = "1.0" if status.state.admits_traffic else "0.0"
            out.append(f"{names.ROUTE_UP.name}{{{labels[status.route]}}} {up}\n")
        self._write_transitions(out, snapshot)
        self._write_objectives(out)
        _header(out, names.MODEL_ROUTE_INFO)
        for public, route_ids in self._catalog.models.items():
            model = escape(public)
            for route_id in route_ids:
                out.append(
                    f'{names.MODEL_ROUTE_INFO.name}{{{names.PUBLIC_MODEL}="{model}",{labels[route_id]}}} 1.0\n'
                )

    def _write_transitions(self, out: list[str], snapshot: BreakerSnapshot) -> None:
        moved = names.BREAKER_TRANSITIONS
        _header(out, moved)
        name = moved.name + "_total"
        for route_id, label in self._route_labels.items() if snapshot.read else ():
            counted = snapshot.transition_counts.get(route_id, {})
            moves = dict.fromkeys(AUTOMATIC_TRANSITIONS, 0) | dict(counted)
            for (from_state, to_state), count in sorted(moves.items()):
                out.append(
                    f'{name}{{{label},{names.FROM_STATE}="{from_state}",{names.TO_STATE}="{to_state}"}} {number(count)}\n'
                )

    def _write_objectives(self, out: list[str]) -> None:
        objective, threshold = names.SLO_OBJECTIVE, names.SLO_TTFT_THRESHOLD
        _header(out, objective)
        for route in self._catalog.routes.values():
            label = self._route_labels[route.id]
            out.append(
                f'{objective.name}{{{label},{names.SLO}="availability"}} {number(route.slo.availability)}\n'
            )
            out.append(
                f'{objective.name}{{{label},{names.SLO}="ttft"}} {number(TTFT_OBJECTIVE_RATIO)}\n'
            )
        _header(out, threshold)
        for route in self._catalog.routes.values():
            label = self._route_labels[route.id]
            out.append(f"{threshold.name}{{{label}}} {number(route.slo.ttft_p95_s)}\n")

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield from self._state_families()
        yield self._transitions()
        yield from self._objectives()
        yield self._model_routes()

    def _model_routes(self) -> GaugeMetricFamily:
        family = _gauge(names.MODEL_ROUTE_INFO)
        for public, route_ids in self._catalog.models.items():
            for route_id in route_ids:
                route = self._catalog.routes[route_id]
                family.add_metric([public, route.provider, route.model], 1.0)
        return family

    def _state_families(self) -> Iterator[GaugeMetricFamily]:
        state, up = _gauge(names.ROUTE_STATE), _gauge(names.ROUTE_UP)
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
        moved = names.BREAKER_TRANSITIONS
        family = CounterMetricFamily(moved.name, moved.help, labels=list(moved.labels))
        routes = self._catalog.routes.items() if self.snapshot.read else ()
        for route_id, route in routes:
            counted = self.snapshot.transition_counts.get(route_id, {})
            moves = dict.fromkeys(AUTOMATIC_TRANSITIONS, 0) | dict(counted)
            for (from_state, to_state), count in sorted(moves.items()):
                family.add_metric([route.provider, route.model, from_state, to_state], count)
        return family

    def _objectives(self) -> Iterator[GaugeMetricFamily]:
        family, threshold = _gauge(names.SLO_OBJECTIVE), _gauge(names.SLO_TTFT_THRESHOLD)
        for route in self._catalog.routes.values():
            family.add_metric([route.provider, route.model, "availability"], route.slo.availability)
            family.add_metric([route.provider, route.model, "ttft"], TTFT_OBJECTIVE_RATIO)
            threshold.add_metric([route.provider, route.model], route.slo.ttft_p95_s)
        yield family
        yield threshold
