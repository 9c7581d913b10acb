"""The windows and bar spans the daemon reports uptime and probe figures over."""

from __future__ import annotations

WINDOWS = ("5m", "30m", "1h", "1d", "30d")
"""Every window of `uptime` and `probes` in the route and provider records, shortest first."""
WINDOW_S = {"5m": 300, "30m": 1800, "1h": 3600, "1d": 86_400, "30d": 30 * 86_400}

SPANS = {"24h": (3600, 24), "90d": (86_400, 90)}
"""`GET /v1/uptime?span=`: bar length in s and bar count (UTC-aligned, the last one partial)."""
LONGEST_MS = 90 * 86_400_000
"""The most any figure looks back: outage intervals older than this are not read."""


def bar_starts(span: str, now_ms: int) -> list[int]:
    """The start (ms) of each bar of `span`, oldest first; the last one holds `now_ms`."""
    bar_s, count = SPANS[span]
    bar_ms = bar_s * 1000
    last = now_ms // bar_ms * bar_ms
    return [last - (count - 1 - i) * bar_ms for i in range(count)]
