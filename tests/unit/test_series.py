"""The per-route families write what prometheus_client would write for them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from routeguard.breaker.types import BreakerState, RouteStatus, WindowFigures
from routeguard.config.loader import parse_catalog
from routeguard.daemon.metrics import BreakerCollector, BreakerSnapshot
from routeguard.metric_names import PROBE_DURATION, PROBES
from routeguard.series import CounterFamily, HistogramFamily

Samples = set[tuple[str, tuple[tuple[str, str], ...], float]]

AWKWARD = 'a "quoted" back\\slash\nnewline'


def parsed(text: str) -> tuple[Samples, dict[str, str]]:
    samples: Samples = set()
    kinds = {}
    for family in text_string_to_metric_families(text):
        kinds[family.name] = family.type
        for s in family.samples:
            if not s.name.endswith("_created"):
                samples.add((s.name, tuple(sorted(s.labels.items())), s.value))
    return samples, kinds


def both_ways(*families: CounterFamily | HistogramFamily) -> tuple[str, str]:
    registry = CollectorRegistry()
    out: list[str] = []
    for family in families:
        registry.register(family)
        family.write_text(out)
    return "".join(out), generate_latest(registry).decode()


def test_a_counter_family_writes_what_its_collector_gives() -> None:
    probes = CounterFamily(PROBES)
    probes.ensure(("p", "m", "completion", "timeout"))  # stays at 0
    probes.inc(("p", "m", "completion", "ok"))
    probes.inc(("p", AWKWARD, "stream", "ok"), 2.5)
    fast, reference = both_ways(probes)
    assert parsed(fast) == parsed(reference)
    assert len(parsed(fast)[0]) == 3
    assert probes.value(("p", "m", "completion", "ok")) == 1.0


def test_a_histogram_family_writes_cumulative_buckets_count_and_sum() -> None:
    durations = HistogramFamily(PROBE_DURATION, (0.1, 1.0, 5.0))
    for seconds in (0.05, 0.1, 0.7, 3.0, 12.0):  # 0.1 is in its own bucket (le), 12 in +Inf
        durations.observe(("p", AWKWARD, "completion"), seconds)
    fast, reference = both_ways(durations)
    assert parsed(fast) == parsed(reference)
    buckets = {
        dict(labels)["le"]: value
        for name, labels, value in parsed(fast)[0]
        if name.endswith("_bucket")
    }
    assert buckets == {"0.1": 2, "1.0": 3, "5.0": 4, "+Inf": 5}


CATALOG = """
providers:
  openai: {}
  anthropic: {}
models:
  chat: [openai/gpt-4o-mini, anthropic/claude-haiku-4-5]
  'odd"name\\x': [openai/gpt-4o-mini]
"""


def status(route: str, state: BreakerState) -> RouteStatus:
    return RouteStatus(route, state, None, "", 0, 1, 0, 0, WindowFigures(), 0)


def test_the_breaker_families_write_what_the_collector_gives() -> None:
    collector = BreakerCollector(parse_catalog(CATALOG, "test.yaml"))
    snapshot = BreakerSnapshot(
        [
            status("openai/gpt-4o-mini", BreakerState.OPEN),
            status("anthropic/claude-haiku-4-5", BreakerState.CLOSED),
        ],
        {"openai/gpt-4o-mini": {("closed", "open"): 3, ("closed", "forced_open"): 1}},
    )
    out: list[str] = []
    collector.write_text(out, snapshot)
    collector.snapshot = snapshot
    registry = CollectorRegistry()
    registry.register(collector)
    fast, kinds = parsed("".join(out))
    reference, reference_kinds = parsed(generate_latest(registry).decode())
    assert fast == reference
    assert kinds == reference_kinds
    assert ("routeguard_route_up", (("model", "gpt-4o-mini"), ("provider", "openai")), 0.0) in fast


def test_an_unread_snapshot_writes_no_state_and_no_transition_count() -> None:
    collector = BreakerCollector(parse_catalog(CATALOG, "test.yaml"))
    out: list[str] = []
    collector.write_text(out, BreakerSnapshot(read=False))
    names = {name for name, _, _ in parsed("".join(out))[0]}
    assert names == {
        "routeguard_slo_objective_ratio",
        "routeguard_slo_ttft_threshold_seconds",
        "routeguard_model_route_info",
    }
