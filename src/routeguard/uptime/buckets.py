"""Per-route probe counts in Redis: availability and TTFT, in minute, hour and day buckets.

One hash per route (`Keys.probe_buckets`), one field per bucket holding the packed
counts and TTFT histogram (lua/probe_buckets.lua), updated by one EVALSHA per probe.
Minute buckets serve 5m/30m/1h, hourly ones 1d, daily ones 30d: about 120 small
fields per route, whatever the probe rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from redis.asyncio import Redis

from routeguard.breaker.keys import Keys
from routeguard.uptime import histogram

MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
BUCKETS = (("m", MINUTE_MS, 61), ("h", HOUR_MS, 25), ("d", DAY_MS, 31))
"""(field prefix, bucket size in ms, buckets kept) per bucket kind."""
BUCKETS_ARG = ",".join(f"{kind}:{size}:{keep}" for kind, size, keep in BUCKETS)
TTL_MS = 32 * DAY_MS
"""A route no longer probed (gone from the catalog) loses its buckets after this."""
WINDOW_BUCKETS = {
    "5m": ("m", 5),
    "30m": ("m", 30),
    "1h": ("m", 60),
    "1d": ("h", 24),
    "30d": ("d", 30),
}
"""Window -> (bucket kind, buckets summed, the current partial one included)."""
SIZES = {kind: size for kind, size, _ in BUCKETS}


@cache
def _script_source() -> str:
    lua = resources.files("routeguard.uptime").joinpath("lua", "probe_buckets.lua")
    return lua.read_text("utf-8")


class ProbeBuckets:
    """Counts probes into their route's buckets (one script call each)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._keys = keys
        self._script = redis.register_script(_script_source())

    async def count(
        self, route: str, *, good: bool, bad: bool, ttft_s: float | None, at_ms: int | None = None
    ) -> None:
        """Count one probe of `route`; `at_ms` (tests) instead of the Redis clock."""
        ttft_bin = -1 if ttft_s is None else histogram.bin_of(ttft_s)
        args = [int(good), int(bad), ttft_bin, "" if at_ms is None else at_ms, BUCKETS_ARG, TTL_MS]
        await self._script(keys=[self._keys.probe_buckets(route)], args=args)


@dataclass
class ProbeFigures:
    """Probe counts of one route (or merged routes) over one window."""

    good: int = 0
    bad: int = 0
    samples: int = 0
    bins: dict[int, int] = field(default_factory=dict)
    covers_s: float = 0.0

    def add(self, packed: str) -> None:
        """Add one bucket's packed value."""
        self.add_parsed(*parse(packed))

    def add_parsed(self, counts: tuple[int, int, int], bins: list[tuple[int, int]]) -> None:
        self.good += counts[0]
        self.bad += counts[1]
        self.samples += counts[2]
        for index, count in bins:
            self.bins[index] = self.bins.get(index, 0) + count

    def merge(self, other: ProbeFigures) -> None:
        """Add another route's figures (a provider's); coverage is the widest."""
        self.good, self.bad, self.samples = (
            self.good + other.good,
            self.bad + other.bad,
            self.samples + other.samples,
        )
        for index, count in other.bins.items():
            self.bins[index] = self.bins.get(index, 0) + count
        self.covers_s = max(self.covers_s, other.covers_s)

    def as_window(self) -> dict[str, object]:
        """The contract's ProbeWindow."""
        probes = self.good + self.bad
        return {
            "availability": None if probes == 0 else self.good / probes,
            "probes": probes,
            "ttft_p50_s": _rounded(histogram.percentile(self.bins, 0.50)),
            "ttft_p95_s": _rounded(histogram.percentile(self.bins, 0.95)),
            "ttft_p99_s": _rounded(histogram.percentile(self.bins, 0.99)),
            "ttft_samples": self.samples,
            "covers_s": round(self.covers_s, 3),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def window_figures(raw: Mapping[str, str], now_ms: int) -> dict[str, ProbeFigures]:
    """The route's probe figures over every window, from its bucket hash (decoded).

    Each bucket is parsed once and added to every window it falls in.
    """
    ranges = {w: _bucket_range(w, now_ms) for w in WINDOW_BUCKETS}
    out = {w: ProbeFigures() for w in WINDOW_BUCKETS}
    for name, packed in raw.items():
        kind, number = name[:1], name[1:]
        inside = [
            w
            for w, (k, first, last) in ranges.items()
            if k == kind and number.isdigit() and first <= int(number) <= last
        ]
        if inside:
            counts, bins = parse(packed)
            for w in inside:
                out[w].add_parsed(counts, bins)
    since = _since(raw)
    for w, figures in out.items():
        kind, first, _ = ranges[w]
        start = first * SIZES[kind]
        figures.covers_s = max(0, now_ms - max(start, since)) / 1000 if since else 0.0
    return out


def _bucket_range(window: str, now_ms: int) -> tuple[str, int, int]:
    """(bucket kind, first and last bucket number) summed for `window` at `now_ms`."""
    kind, count = WINDOW_BUCKETS[window]
    current = now_ms // SIZES[kind]
    return kind, current - count + 1, current


def parse(packed: str) -> tuple[tuple[int, int, int], list[tuple[int, int]]]:
    """A bucket's packed value: (good, bad, TTFT samples) and its (bin, count) pairs."""
    items = packed.split(",")
    bins = [(int(i), int(c)) for i, _, c in (item.partition(":") for item in items[3:])]
    return (int(items[0]), int(items[1]), int(items[2])), bins


def _since(raw: Mapping[str, str]) -> int:
    try:
        return math.floor(float(raw.get("since") or 0))
    except ValueError:
        return 0
