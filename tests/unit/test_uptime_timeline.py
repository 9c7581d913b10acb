"""Interval arithmetic of the time accounting: windows, coverage, classes, bars."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from routeguard.uptime.timeline import Outage, Timeline, UptimeFigures, figures, mean_ratio, summed
from routeguard.uptime.windows import bar_starts

MIN = 60_000
NOW = 1_800_000_000_000


def test_a_route_never_touched_covers_nothing_and_has_no_ratio() -> None:
    got = figures(Timeline(), NOW - 5 * MIN, NOW)
    assert got == UptimeFigures() and got.ratio is None


def test_an_always_up_route_is_up_for_all_it_covers() -> None:
    got = figures(Timeline(tracked_since_ms=NOW - 60 * MIN), NOW - 5 * MIN, NOW)
    assert (got.up_s, got.down_s, got.covers_s, got.ratio) == (300, 0, 300, 1.0)


def test_coverage_starts_when_tracking_began() -> None:
    got = figures(Timeline(tracked_since_ms=NOW - 2 * MIN), NOW - 30 * MIN, NOW)
    assert got.covers_s == 120


def test_only_the_part_of_an_outage_inside_the_window_counts() -> None:
    outage = Outage(NOW - 10 * MIN, NOW - 3 * MIN, "down", "consecutive_failures")
    got = figures(Timeline(NOW - 60 * MIN, (outage,)), NOW - 5 * MIN, NOW)
    assert (got.down_s, got.up_s) == (120, 180)
    assert got.ratio == 0.6


def test_a_running_outage_counts_up_to_now() -> None:
    state = {"tracked_since_ms": str(NOW - 60 * MIN), "segment_class": "down"}
    state |= {"segment_start_ms": str(NOW - MIN), "segment_reason": "failure_rate"}
    got = figures(Timeline.from_redis(state, []), NOW - 5 * MIN, NOW)
    assert got.down_s == 60


def test_forced_and_auth_quota_time_is_excluded_not_down() -> None:
    outages = (
        Outage(NOW - 4 * MIN, NOW - 3 * MIN, "forced", "forced"),
        Outage(NOW - 3 * MIN, NOW - 1 * MIN, "auth_quota", "auth_error"),
    )
    got = figures(Timeline(NOW - 60 * MIN, outages), NOW - 5 * MIN, NOW)
    assert (got.forced_s, got.auth_quota_s, got.down_s, got.up_s) == (60, 120, 0, 120)
    assert got.ratio == 1.0
    window = got.as_window()
    assert window["excluded_s"] == {"forced": 60, "auth_quota": 120}


def test_a_window_that_is_all_excluded_has_no_ratio() -> None:
    outage = Outage(NOW - 10 * MIN, None, "forced", "forced")
    assert figures(Timeline(NOW - 60 * MIN, (outage,)), NOW - 5 * MIN, NOW).ratio is None


def test_malformed_members_are_skipped() -> None:
    members = ["1:2:down:x", "garbage", "a:b:down:x", "1:2:sideways:x"]
    assert Timeline.from_redis({"tracked_since_ms": "1"}, members).outages == (
        Outage(1, 2, "down", "x"),
    )


def test_a_provider_ratio_is_the_mean_of_its_routes_and_seconds_add_up() -> None:
    routes = [UptimeFigures(up_s=90, down_s=10, covers_s=100), UptimeFigures(up_s=10, covers_s=10)]
    assert mean_ratio(routes) == 0.95
    assert summed(routes) == UptimeFigures(up_s=100, down_s=10, covers_s=100)
    assert mean_ratio([UptimeFigures()]) is None


def test_bars_are_utc_aligned_oldest_first_and_the_last_holds_now() -> None:
    now = 1_800_000_123_456
    starts = bar_starts("24h", now)
    assert len(starts) == 24 and starts == sorted(starts)
    assert all(s % 3_600_000 == 0 for s in starts)
    assert starts[-1] <= now < starts[-1] + 3_600_000
    daily = bar_starts("90d", now)
    assert len(daily) == 90 and all(s % 86_400_000 == 0 for s in daily)


outage_lists = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.integers(0, 5_000),
        st.sampled_from(["down", "forced", "auth_quota"]),
        st.booleans(),
    ),
    max_size=8,
)


@given(
    raw=outage_lists,
    tracked=st.integers(0, 12_000),
    start=st.integers(0, 12_000),
    length=st.integers(0, 12_000),
)
def test_every_millisecond_is_counted_once_and_never_outside_the_cover(
    raw: list[tuple[int, int, str, bool]], tracked: int, start: int, length: int
) -> None:
    outages = tuple(Outage(s, None if running else s + d, c, "r") for s, d, c, running in raw)
    timeline = Timeline(tracked, tuple(sorted(outages, key=lambda o: o.start_ms)))
    got = figures(timeline, start, start + length)
    parts = got.up_s + got.down_s + got.excluded_s
    assert min(got.up_s, got.down_s, got.forced_s, got.auth_quota_s) >= 0
    assert abs(parts - got.covers_s) < 1e-9
    assert got.covers_s <= length / 1000
    assert got.ratio is None or 0 <= got.ratio <= 1
