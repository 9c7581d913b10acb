"""Counters exist at 0 from the start, so `rate()`/`increase()` see their first events.

A counter series that first appears at 2 hides those 2 from Prometheus: the
first failed probes of an outage would never reach the availability SLI.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from routeguard.client.metrics import WorkerMetrics
from routeguard.config.loader import parse_catalog
from routeguard.daemon.metrics import AUTOMATIC_TRANSITIONS, BreakerCollector
from routeguard.outcomes import Outcome
from routeguard.probes import ProbeMetrics

CATALOG = """
providers:
  openai: {}
  anthropic:
    probes: {tiers: [liveness, completion, stream]}
models:
  chat: [openai/gpt-4o-mini, anthropic/claude-haiku-4-5]
  big: [openai/gpt-4o]
"""


def samples(registry: CollectorRegistry, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == name
    }


def test_every_probed_outcome_is_exported_at_zero_before_any_probe() -> None:
    registry = CollectorRegistry()
    ProbeMetrics(registry).initialise(parse_catalog(CATALOG, "test.yaml"))
    probes = samples(registry, "routeguard_probes_total")
    expected_series = {
        ("openai", "*", "liveness"),
        ("openai", "gpt-4o-mini", "completion"),
        ("openai", "gpt-4o", "completion"),
        ("anthropic", "*", "liveness"),
        ("anthropic", "claude-haiku-4-5", "completion"),
        ("anthropic", "claude-haiku-4-5", "stream"),
    }
    seen = {(dict(k)["provider"], dict(k)["model"], dict(k)["tier"]) for k in probes}
    assert seen == expected_series
    assert len(probes) == len(expected_series) * len(Outcome)
    assert set(probes.values()) == {0.0}
    within = samples(registry, "routeguard_probe_ttft_within_objective_total")
    assert list(within) == [(("model", "claude-haiku-4-5"), ("provider", "anthropic"))]


def test_every_route_exports_the_automatic_transitions_at_zero() -> None:
    registry = CollectorRegistry()
    registry.register(BreakerCollector(parse_catalog(CATALOG, "test.yaml")))
    moves = samples(registry, "routeguard_breaker_transitions_total")
    assert len(moves) == 3 * len(AUTOMATIC_TRANSITIONS)
    assert set(moves.values()) == {0.0}


def test_counted_transitions_replace_the_zeros() -> None:
    collector = BreakerCollector(parse_catalog(CATALOG, "test.yaml"))
    collector.snapshot.transition_counts = {"openai/gpt-4o": {("closed", "open"): 3}}
    registry = CollectorRegistry()
    registry.register(collector)
    moves = samples(registry, "routeguard_breaker_transitions_total")
    key = (("from", "closed"), ("model", "gpt-4o"), ("provider", "openai"), ("to", "open"))
    assert moves[key] == 3
    assert sum(moves.values()) == 3


def test_worker_counters_start_at_zero_for_every_route_and_model() -> None:
    registry = CollectorRegistry()
    WorkerMetrics(registry, lambda: 0.0).initialise(parse_catalog(CATALOG, "test.yaml"))
    assert len(samples(registry, "routeguard_requests_total")) == 3 * len(Outcome)
    failovers = samples(registry, "routeguard_failovers_total")
    assert {dict(k)["public_model"] for k in failovers} == {"chat", "big"}
    assert len(failovers) == 3
    assert len(samples(registry, "routeguard_panic_total")) == 2
