"""Probe leases: several daemon replicas probe each route once per interval between them.

Before a probe, a replica claims the job's lease (`SET NX PX`) for most of the
job's interval; whoever holds it probes, the others skip. A replica that dies
simply stops claiming: its leases lapse and the survivors take its routes
within one interval. HA without double spend.
"""

from __future__ import annotations

from redis.asyncio import Redis

from routeguard.breaker.keys import Keys
from routeguard.probes import ProbeJob
from routeguard.redis_batch import RedisBatcher

LEASE_SHARE = 0.8
"""A lease lasts this share of the interval, so the next run is never locked out."""


class ProbeLeases:
    """Claims probe jobs for one replica."""

    def __init__(
        self, redis: Redis, keys: Keys, replica_id: str, batcher: RedisBatcher | None = None
    ) -> None:
        self._redis = redis
        self._batcher = batcher
        self._keys = keys
        self.replica_id = replica_id

    async def claim(self, job: ProbeJob, interval_s: float) -> bool:
        """True when this replica should run `job` now."""
        ttl_ms = max(1, int(interval_s * LEASE_SHARE * 1000))
        key = self._keys.probe_lease(job.key)
        if self._batcher is not None:
            claimed = await self._batcher.call(
                lambda pipe: pipe.set(key, self.replica_id, nx=True, px=ttl_ms)
            )
        else:
            claimed = await self._redis.set(key, self.replica_id, nx=True, px=ttl_ms)
        return bool(claimed)
