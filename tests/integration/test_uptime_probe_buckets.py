"""Per-route probe buckets through the real Lua script, with the time passed in."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from routeguard.breaker import BreakerStore, Keys
from routeguard.config.policies import BreakerSettings
from routeguard.uptime import ProbeBuckets, route_records
from routeguard.uptime.histogram import MAX_RELATIVE_ERROR, exact_percentile

from .breaker_helpers import ROUTE, make_store
from .test_uptime_accounting import CATALOG

pytestmark = pytest.mark.redis

DAY_MS = 86_400_000
T0 = 20_500 * DAY_MS  # a UTC midnight
EVERY_MS = 30_000


@pytest.fixture
async def store(redis_url: str, keys: Keys, redis_client: Redis) -> AsyncIterator[BreakerStore]:
    s = make_store(redis_url, keys, BreakerSettings(), rng=random.Random(1))
    yield s
    await s.aclose()


async def test_a_simulated_day_at_30_s_is_counted_per_window_in_a_bounded_hash(
    store: BreakerStore,
    keys: Keys,
    redis_client: Redis,
    record_property,  # type: ignore[no-untyped-def]
) -> None:
    buckets = ProbeBuckets(redis_client, keys)
    rng = random.Random(15)
    ttfts = [rng.lognormvariate(-1.0, 0.6) for _ in range(2880)]
    for i, ttft in enumerate(ttfts):
        bad = i % 100 == 0
        await buckets.count(ROUTE, good=not bad, bad=bad, ttft_s=ttft, at_ms=T0 + i * EVERY_MS)
    now = T0 + 2879 * EVERY_MS
    fields = await redis_client.hlen(keys.probe_buckets(ROUTE))
    memory = await redis_client.memory_usage(keys.probe_buckets(ROUTE))
    record_property("probe_bucket_fields_after_a_day", fields)
    record_property("probe_bucket_bytes_after_a_day", memory)
    print(f"\nprobe buckets after a day at 30 s: {fields} fields, {memory} bytes")
    assert fields <= 61 + 25 + 1 + 1, "minute, hour and day buckets are pruned"
    assert await redis_client.ttl(keys.probe_buckets(ROUTE)) > 31 * 86_400
    [record] = await route_records(store, CATALOG, now_ms=now)
    probes = record["probes"]
    assert [probes[w]["probes"] for w in ("5m", "1h", "1d", "30d")] == [10, 120, 2880, 2880]
    assert probes["1d"]["availability"] == 1 - 29 / 2880
    assert probes["5m"]["covers_s"] == 270 and probes["1d"]["covers_s"] == 86_370
    for q, name in ((0.5, "ttft_p50_s"), (0.95, "ttft_p95_s"), (0.99, "ttft_p99_s")):
        exact = exact_percentile(ttfts, q)
        assert abs(probes["1d"][name] - exact) / exact <= MAX_RELATIVE_ERROR + 1e-3
    assert probes["30d"]["ttft_samples"] == 2880


async def test_a_probe_without_ttft_or_sla_outcome_still_dates_the_coverage(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    buckets = ProbeBuckets(redis_client, keys)
    await buckets.count(ROUTE, good=False, bad=False, ttft_s=None, at_ms=T0)
    [record] = await route_records(store, CATALOG, now_ms=T0 + 60_000)
    window = record["probes"]["1h"]
    assert (window["probes"], window["availability"], window["ttft_p50_s"]) == (0, None, None)
    assert window["covers_s"] == 60
