"""TTFT percentiles from the log-spaced histogram, against the exact ones."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from routeguard.uptime import histogram
from routeguard.uptime.buckets import ProbeFigures, windows_from


def _bins(samples: list[float]) -> dict[int, int]:
    bins: dict[int, int] = {}
    for s in samples:
        bins[histogram.bin_of(s)] = bins.get(histogram.bin_of(s), 0) + 1
    return bins


def test_the_stated_error_bound_is_under_ten_percent() -> None:
    assert 0.093 < histogram.MAX_RELATIVE_ERROR < 0.096
    assert histogram.bin_of(0.001) == 0 and histogram.bin_of(600) == histogram.BINS - 1


@given(
    samples=st.lists(st.floats(min_value=0.01, max_value=60.0), min_size=1, max_size=300),
    q=st.sampled_from([0.5, 0.95, 0.99]),
)
def test_a_percentile_is_within_the_stated_relative_error_of_the_exact_one(
    samples: list[float], q: float
) -> None:
    exact = histogram.exact_percentile(samples, q)
    got = histogram.percentile(_bins(samples), q)
    assert got is not None
    assert abs(got - exact) / exact <= histogram.MAX_RELATIVE_ERROR + 1e-9


def test_no_samples_no_percentile() -> None:
    assert histogram.percentile({}, 0.5) is None


def test_coverage_of_each_window_is_clipped_to_the_first_probe() -> None:
    now = 1_800_000_000_000 + 30_000
    reply = [str(now - 90_000), "3,1,2,10:1,20:1", "0,0,0", "0,0,0", "0,0,0", "0,0,0"]
    got = windows_from(reply, now)
    five = got["5m"]
    assert (five.good, five.bad, five.samples, five.bins) == (3, 1, 2, {10: 1, 20: 1})
    assert five.covers_s == 90 and got["30d"].covers_s == 90
    record = five.as_window()
    assert record["availability"] == 0.75 and record["probes"] == 4
    assert record["ttft_p50_s"] == round(histogram.value_of(10), 4)
    old = windows_from([str(now - 86_400_000)] + ["0,0,0"] * 5, now)
    assert old["5m"].covers_s == 270, "the 5 minute buckets began 4.5 minutes ago"
    assert windows_from(["0"] + ["0,0,0"] * 5, now)["1h"].as_window()["covers_s"] == 0


def test_merged_figures_add_counts_and_histograms() -> None:
    a, b = ProbeFigures(1, 0, 1, {3: 1}, 10.0), ProbeFigures(0, 1, 2, {3: 1, 9: 1}, 20.0)
    a.merge(b)
    assert (a.good, a.bad, a.samples, a.bins, a.covers_s) == (1, 1, 3, {3: 2, 9: 1}, 20.0)
