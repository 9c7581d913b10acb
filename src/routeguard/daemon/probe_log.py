"""What the daemon remembers of its probes in Redis: the last probe of each route
and tier (for `GET /v1/routes`), and each route's probe counts and TTFT histogram in
time buckets (routeguard/uptime/buckets.py, for the `probes` figures). Shared by
every replica.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

from redis.asyncio import Redis

from routeguard.breaker.keys import Keys
from routeguard.probes import ProbeJob, ProbeResult
from routeguard.redis_batch import RedisBatcher
from routeguard.status_view import iso_ms
from routeguard.uptime.buckets import ProbeBuckets


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


class ProbeLog:
    """Writes and reads the probe records of one deployment.

    `clock` (seconds) dates the bucket counts; None (the daemon) dates them by the
    Redis clock, the one the breaker's time accounting uses too. With a `batcher`
    (the daemon's) the writes go in its pipelines.
    """

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        clock: Callable[[], float] | None = None,
        batcher: RedisBatcher | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._batcher = batcher
        self._buckets = ProbeBuckets(redis, keys, batcher)

    async def record(self, job: ProbeJob, result: ProbeResult) -> None:
        """Store the last probe; count a route tier's probe in its route's buckets (one
        script call for both).

        Only outcomes that count for the SLA enter availability (docs/slo.md); a TTFT
        counts whenever the probe measured one. Liveness probes a provider, not a
        route: it is kept as a last probe only.
        """
        record = json.dumps(last_probe_record(result))
        if not job.tier.per_route:
            if self._batcher is not None:
                await self._batcher.call(
                    lambda pipe: pipe.hset(self._keys.last_probes, job.key, record)
                )
                return
            hset = self._redis.hset(self._keys.last_probes, job.key, record)
            await cast("Awaitable[Any]", hset)
            return
        outcome = result.outcome
        counted = outcome.counts_for_sla
        at_ms = None if self._clock is None else round(self._clock() * 1000)
        await self._buckets.count(
            job.subject,
            good=counted and not outcome.counts_against_sla,
            bad=counted and outcome.counts_against_sla,
            ttft_s=result.ttft_s,
            at_ms=at_ms,
            last_probe=(job.key, record),
        )
