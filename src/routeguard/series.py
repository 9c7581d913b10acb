"""Metric families with a series per route, written to the text format fast.

prometheus_client builds a sample object for every line of every scrape and
formats each label set again: at 10,000 routes (some 300,000 lines) a scrape
cost the daemon 7.5 CPU-seconds. These families keep each series' counts in a
plain list beside its line prefix (`name{provider="…",model="…"`), made once
when the series is, so a scrape only joins strings and numbers.

They are prometheus_client collectors too (`collect()`), so a registry, its
`get_sample_value` and every test that reads one see them as before; the daemon
writes them with `write_text` instead (daemon/http.py).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from routeguard.metric_names import Metric

Labels = tuple[str, ...]


def escape(value: str) -> str:
    """A label value as the text format quotes it."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    return ",".join(f'{n}="{escape(v)}"' for n, v in zip(names, values, strict=True))


def number(value: float) -> str:
    """A sample value in the text format (`1.0`, `0.025`, `+Inf`, `NaN`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class CounterFamily(Collector):
    """A counter with fixed label names; `inc` by label values."""

    def __init__(self, metric: Metric) -> None:
        self.metric = metric
        self._counts: dict[Labels, list[float]] = {}  # [count]: a list, updated in place
        self._prefixes: dict[Labels, str] = {}

    def ensure(self, values: Labels) -> list[float]:
        """The series of `values`, at 0 if it did not exist."""
        series = self._counts.get(values)
        if series is None:
            labels = label_text(self.metric.labels, values)
            self._prefixes[values] = f"{self.metric.name}_total{{{labels}}} "
            series = self._counts[values] = [0.0]
        return series

    def inc(self, values: Labels, amount: float = 1.0) -> None:
        self.ensure(values)[0] += amount

    def value(self, values: Labels) -> float | None:
        series = self._counts.get(values)
        return None if series is None else series[0]

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            self.metric.name, self.metric.help, labels=list(self.metric.labels)
        )
        for values, series in list(self._counts.items()):
            family.add_metric(list(values), series[0])
        yield family

    def write_text(self, out: list[str]) -> None:
        name = self.metric.name + "_total"
        out.append(f"# HELP {name} {_help(self.metric)}\n# TYPE {name} counter\n")
        prefixes = self._prefixes
        for values, series in list(self._counts.items()):
            out.append(f"{prefixes[values]}{number(series[0])}\n")


class HistogramFamily(Collector):
    """A histogram with fixed label names and bucket bounds; `observe` by label values."""

    def __init__(self, metric: Metric, buckets: Sequence[float]) -> None:
        self.metric = metric
        self.bounds = tuple(sorted(buckets))
        self._series: dict[Labels, list[float]] = {}  # per bucket (not cumulative), +Inf, sum
        self._prefixes: dict[Labels, tuple[list[str], str, str]] = {}

    def observe(self, values: Labels, amount: float) -> None:
        series = self._series.get(values)
        if series is None:
            series = self._new(values)
        series[bisect_left(self.bounds, amount)] += 1
        series[-1] += amount

    def _new(self, values: Labels) -> list[float]:
        labels = label_text(self.metric.labels, values)
        name, sep = self.metric.name, "," if labels else ""
        les = [*map(number, self.bounds), "+Inf"]
        buckets = [f'{name}_bucket{{{labels}{sep}le="{le}"}} ' for le in les]
        self._prefixes[values] = (buckets, f"{name}_count{{{labels}}} ", f"{name}_sum{{{labels}}} ")
        series = self._series[values] = [0.0] * (len(self.bounds) + 2)
        return series

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            self.metric.name, self.metric.help, labels=list(self.metric.labels)
        )
        les = [*map(number, self.bounds), "+Inf"]
        for values, series in list(self._series.items()):
            cumulative = list(_running(series[:-1]))
            family.add_metric(list(values), list(zip(les, cumulative, strict=True)), series[-1])
        yield family

    def write_text(self, out: list[str]) -> None:
        name = self.metric.name
        out.append(f"# HELP {name} {_help(self.metric)}\n# TYPE {name} histogram\n")
        for values, series in list(self._series.items()):
            buckets, count, total = self._prefixes[values]
            cumulative = 0.0
            for prefix, n in zip(buckets, series[:-1], strict=True):
                cumulative += n
                out.append(f"{prefix}{number(cumulative)}\n")
            # The count is the +Inf bucket's, so the two always agree within a scrape.
            out.append(f"{count}{number(cumulative)}\n{total}{number(series[-1])}\n")


def _running(counts: Iterable[float]) -> Iterator[float]:
    total = 0.0
    for n in counts:
        total += n
        yield total


def _help(metric: Metric) -> str:
    return metric.help.replace("\\", r"\\").replace("\n", r"\n")
