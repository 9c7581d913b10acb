"""What the daemon remembers of its probes in Redis: the last probe of each
route and tier (for `GET /v1/routes`), and per-provider SLI counts in time
buckets (for `GET /v1/providers`). Shared by every replica.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from routeguard.breaker.keys import Keys
from routeguard.probes import ProbeJob, ProbeResult
from routeguard.redis_connect import text
from routeguard.status_view import iso_ms

FIVE_MIN_S, HOUR_S = 300, 3600
WINDOWS = {"1h": (FIVE_MIN_S, 12), "24h": (FIVE_MIN_S, 288), "30d": (HOUR_S, 720)}
"""SLA window -> (bucket size in s, number of buckets)."""
PRUNE_EVERY = 200


def last_probe_record(result: ProbeResult) -> dict[str, Any]:
    """The `last_probe` object of a route record (docs/daemon.md, `GET /v1/routes`)."""
    c = result.classified
    return {
        "tier": result.target.tier.value,
        "outcome": result.outcome.value,
        "at": iso_ms(int(result.started_at * 1000)),
        "latency_s": round(result.duration_s, 4),
        "ttft_s": None if result.ttft_s is None else round(result.ttft_s, 4),
        "status": c.status,
        "error_type": c.error_type or None,
        "detail": c.detail or None,
    }


@dataclass(frozen=True)
class Sli:
    """Counts behind one provider's availability and TTFT figures over one window."""

    good: int = 0
    bad: int = 0
    ttft_samples: int = 0
    ttft_within: int = 0

    def availability(self) -> float | None:
        total = self.good + self.bad
        return None if total == 0 else self.good / total

    def ttft_ratio(self) -> float | None:
        return None if self.ttft_samples == 0 else self.ttft_within / self.ttft_samples


class ProbeLog:
    """Writes and reads the probe records of one deployment."""

    def __init__(self, redis: Redis, keys: Keys, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._writes = 0

    async def record(self, job: ProbeJob, result: ProbeResult, *, ttft_within: bool | None) -> None:
        """Store the last probe and count it in the provider's SLI buckets.

        `ttft_within`: did a streamed answer start within the route's objective
        (None when nothing streamed).
        """
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._keys.last_probes, job.key, json.dumps(last_probe_record(result)))
        for name, n in _sli_increments(result, ttft_within).items():
            for size in (FIVE_MIN_S, HOUR_S):
                bucket = math.floor(self._clock() / size)
                pipe.hincrby(self._keys.sla(job.provider), f"{size}:{bucket}:{name}", n)
        await pipe.execute()
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            await self._prune(job.provider)

    async def last_probes(self) -> dict[str, dict[str, Any]]:
        raw = await cast("Awaitable[dict[Any, Any]]", self._redis.hgetall(self._keys.last_probes))
        return {text(k): json.loads(text(v)) for k, v in raw.items()}

    async def slis(self, providers: Sequence[str]) -> dict[str, dict[str, Sli]]:
        """Per provider, per window (1h, 24h, 30d): the SLI counts."""
        pipe = self._redis.pipeline(transaction=False)
        for provider in providers:
            pipe.hgetall(self._keys.sla(provider))
        replies = await pipe.execute()
        now = self._clock()
        return {p: _windows(r, now) for p, r in zip(providers, replies, strict=True)}

    async def _prune(self, provider: str) -> None:
        raw = await cast("Awaitable[dict[Any, Any]]", self._redis.hgetall(self._keys.sla(provider)))
        now = self._clock()
        stale = [k for k in map(text, raw) if _bucket_age(k, now) > 31 * 86400]
        if stale:
            await cast("Awaitable[Any]", self._redis.hdel(self._keys.sla(provider), *stale))


def _sli_increments(result: ProbeResult, ttft_within: bool | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    outcome = result.outcome
    if outcome.counts_for_sla and result.target.tier.per_route:
        counts["bad" if outcome.counts_against_sla else "good"] = 1
    if ttft_within is not None:
        counts["ttft_n"] = 1
        counts["ttft_ok"] = int(ttft_within)
    return counts


def _bucket_age(field: str, now: float) -> float:
    size, bucket, _ = field.split(":", 2)
    return now - int(bucket) * int(size)


def _windows(raw: Mapping[Any, Any], now: float) -> dict[str, Sli]:
    out: dict[str, Sli] = {}
    for window, (size, count) in WINDOWS.items():
        first = math.floor(now / size) - count + 1
        totals = {"good": 0, "bad": 0, "ttft_n": 0, "ttft_ok": 0}
        for key, value in raw.items():
            k_size, k_bucket, name = text(key).split(":", 2)
            if int(k_size) == size and int(k_bucket) >= first and name in totals:
                totals[name] += int(value)
        out[window] = Sli(totals["good"], totals["bad"], totals["ttft_n"], totals["ttft_ok"])
    return out
