"""The conventions module is the one list of metrics: every one is documented for users."""

from __future__ import annotations

from pathlib import Path

from routeguard import metric_names

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_exported_metric_is_documented_under_the_name_a_scrape_shows() -> None:
    text = "".join(path.read_text() for path in DOCS.glob("*.md"))
    missing = [
        m.name + ("_total" if m.kind == "counter" else "")
        for m in metric_names.ALL_METRICS
        if f"`{m.name + ('_total' if m.kind == 'counter' else '')}`" not in text
    ]
    assert not missing, f"not in docs/*.md: {missing}"


def test_names_are_unique_and_carry_the_prefix_and_their_units() -> None:
    names = [m.name for m in metric_names.ALL_METRICS]
    assert len(names) == len(set(names))
    for metric in metric_names.ALL_METRICS:
        assert metric.name.startswith("routeguard_"), metric.name
        assert not metric.name.endswith("_total"), "prometheus_client adds _total itself"
        if metric.kind == "histogram":
            assert metric.name.endswith("_seconds"), metric.name
