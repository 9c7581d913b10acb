"""Per-route probe counts in Redis: availability and TTFT, in minute, hour and day buckets.

One hash per route (`Keys.probe_buckets`), one field per bucket holding the packed
counts and TTFT histogram (lua/probe_buckets.lua), updated by one EVALSHA per probe.
Minute buckets serve 5m/30m/1h, hourly ones 1d, daily ones 30d: about 120 small
fields per route, whatever the probe rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from routeguard.breaker.keys import Keys
from routeguard.redis_batch import RedisBatcher
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


SIZES_ARG = ",".join(f"{kind}:{size}" for kind, size in SIZES.items())
WINDOWS_ARG = ",".join(f"{kind}:{count}" for kind, count in WINDOW_BUCKETS.values())


@cache
def script_source(name: str) -> str:
    """`probe_buckets` (count a probe) or `probe_windows` (sum per window), with the codec."""
    lua = resources.files("routeguard.uptime").joinpath("lua")
    codec = lua.joinpath("bucket_codec.lua").read_text("utf-8")
    return codec + "\n" + lua.joinpath(f"{name}.lua").read_text("utf-8")


class ProbeBuckets:
    """Counts probes into their route's buckets and sums them per window, one script call each."""

    def __init__(self, redis: Redis, keys: Keys, batcher: RedisBatcher | None = None) -> None:
        self._batcher = batcher
        self._keys = keys
        self._script = redis.register_script(script_source("probe_buckets"))
        self._windows = redis.register_script(script_source("probe_windows"))

    async def queue_windows(self, pipe: Pipeline, route: str, now_ms: int) -> None:
        """Queue on `pipe` the read of the route's sums per window (see `windows_from`)."""
        args: list[int | str] = [now_ms, SIZES_ARG, WINDOWS_ARG]
        await self._windows(keys=[self._keys.probe_buckets(route)], args=args, client=pipe)

    async def count(
        self,
        route: str,
        *,
        good: bool,
        bad: bool,
        ttft_s: float | None,
        at_ms: int | None = None,
        last_probe: tuple[str, str] | None = None,
    ) -> None:
        """Count one probe of `route`; `at_ms` (tests) instead of the Redis clock;
        `last_probe` (field, record) is set in the last-probes hash in the same call."""
        ttft_bin = -1 if ttft_s is None else histogram.bin_of(ttft_s)
        keys = [self._keys.probe_buckets(route)]
        args: list[int | str] = [int(good), int(bad), ttft_bin, "" if at_ms is None else at_ms]
        args += [BUCKETS_ARG, TTL_MS]
        if last_probe is not None:
            keys.append(self._keys.last_probes)
            args += list(last_probe)
        if self._batcher is not None:
            await self._batcher.script(self._script, keys, args)
        else:
            await self._script(keys=keys, args=args)


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


def windows_from(reply: Sequence[str], now_ms: int) -> dict[str, ProbeFigures]:
    """The route's figures per window from the probe_windows script's reply (decoded)."""
    since = _whole(reply[0])
    out = {}
    for window, packed in zip(WINDOW_BUCKETS, reply[1:], strict=True):
        figures = ProbeFigures()
        figures.add(packed)
        kind, count = WINDOW_BUCKETS[window]
        first = (now_ms // SIZES[kind] - count + 1) * SIZES[kind]
        figures.covers_s = max(0, now_ms - max(first, since)) / 1000 if since else 0.0
        out[window] = figures
    return out


def parse(packed: str) -> tuple[tuple[int, int, int], list[tuple[int, int]]]:
    """A bucket's packed value: (good, bad, TTFT samples) and its (bin, count) pairs."""
    items = packed.split(",")
    bins = [(int(i), int(c)) for i, _, c in (item.partition(":") for item in items[3:])]
    return (int(items[0]), int(items[1]), int(items[2])), bins


def _whole(value: str) -> int:
    try:
        return math.floor(float(value))
    except ValueError:
        return 0
