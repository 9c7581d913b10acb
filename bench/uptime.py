"""Uptime figures: what they cost in Redis memory and in time to answer.

Prints, against a local Redis (every key under its own prefix, deleted after):
  - Redis memory per route (MEMORY USAGE) for an always-up route, a route with
    100 incidents, and a route's probe buckets after a simulated day at 30 s;
  - the time to build the `GET /v1/providers` and `GET /v1/routes` answers
    (read + compute + JSON) at N routes, each with a day of probe buckets and
    one route in ten with 10 incidents.

    .venv/bin/python bench/uptime.py [--redis-url URL] [--routes 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from typing import Any

from redis.asyncio import Redis

from routeguard.breaker import BreakerStore, Keys
from routeguard.config import Catalog, parse_catalog
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome
from routeguard.uptime import ProbeBuckets, provider_records, route_records

DAY_MS, EVERY_MS = 86_400_000, 30_000
PROVIDERS = 10


def catalog_of(routes: int) -> Catalog:
    lines = ["providers:"]
    lines += [
        f"  p{p}: {{flavour: openai, base_url: 'http://127.0.0.1:1/v1', api_key_env: null}}"
        for p in range(PROVIDERS)
    ]
    lines.append("models:")
    lines += [f"  m{i}: [p{i % PROVIDERS}/model-{i}]" for i in range(routes)]
    return parse_catalog("\n".join(lines) + "\n", "bench.yaml")


async def memory(redis: Redis, key: str) -> int:
    return int(await redis.memory_usage(key) or 0) if await redis.exists(key) else 0


async def a_day_of_probes(buckets: ProbeBuckets, route: str, now_ms: int) -> None:
    rng = random.Random(1)
    start = now_ms - DAY_MS + EVERY_MS
    for i in range(DAY_MS // EVERY_MS):
        bad = rng.random() < 0.01
        ttft = rng.lognormvariate(-1.0, 0.6)
        await buckets.count(route, good=not bad, bad=bad, ttft_s=ttft, at_ms=start + i * EVERY_MS)


async def incidents(store: BreakerStore, route: str, count: int) -> None:
    for _ in range(count):
        for target in ("open", "auto"):
            before = (await store.state(route)).now_ms
            while (await store.state(route)).now_ms == before:  # intervals need a ms to pass
                await asyncio.sleep(0.0005)
            await store.force(route, target, "bench")


async def per_route_memory(store: BreakerStore, redis: Redis, keys: Keys, now_ms: int) -> None:
    up, flaky, probed = store.routes[:3]
    for _ in range(100):
        await store.record(up, Outcome.OK)
    await incidents(store, flaky, 100)
    await a_day_of_probes(ProbeBuckets(redis, keys), probed, now_ms)
    up_b = await memory(redis, keys.state(up)) + await memory(redis, keys.outages(up))
    flaky_b = await memory(redis, keys.state(flaky)) + await memory(redis, keys.outages(flaky))
    probe_b = await memory(redis, keys.probe_buckets(probed))
    print(f"always-up route: {up_b} B (state hash; no outage set)")
    print(f"route with 100 incidents: {flaky_b} B (state hash + outage set)")
    print(
        f"probe buckets after a day at 30 s: {probe_b} B ({await redis.hlen(keys.probe_buckets(probed))} fields)"
    )


async def fill(store: BreakerStore, redis: Redis, keys: Keys) -> None:
    """Copy the measured routes' keys to every route: probe buckets everywhere, 10 incidents on one in ten."""
    probed = await redis.dump(keys.probe_buckets(store.routes[2]))
    await incidents(store, store.routes[3], 10)
    outages = await redis.dump(keys.outages(store.routes[3]))
    state = await redis.dump(keys.state(store.routes[3]))
    for i, route in enumerate(store.routes[4:], start=4):
        await redis.restore(keys.probe_buckets(route), 0, probed, replace=True)
        if i % 10 == 0:
            await redis.restore(keys.outages(route), 0, outages, replace=True)
            await redis.restore(keys.state(route), 0, state, replace=True)


async def timed(runs: int, build: Any) -> float:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        json.dumps(await build())
        took.append(time.perf_counter() - started)
    return statistics.median(took)


async def main(url: str, routes: int, runs: int) -> None:
    catalog = catalog_of(routes)
    keys = Keys(f"bench-uptime-{uuid.uuid4().hex[:8]}")
    redis = Redis.from_url(url)
    store = BreakerStore(redis, {r: BreakerSettings() for r in catalog.routes}, keys=keys)
    try:
        now_ms = (await store.state(store.routes[0])).now_ms
        await per_route_memory(store, redis, keys, now_ms)
        await fill(store, redis, keys)
        p = await timed(runs, lambda: provider_records(store, catalog))
        r = await timed(runs, lambda: route_records(store, catalog))
        print(
            f"{routes} routes: /v1/providers built in {p * 1000:.0f} ms, /v1/routes in {r * 1000:.0f} ms (median of {runs})"
        )
    finally:
        async for key in redis.scan_iter(match=f"{keys.tag}*", count=1000):
            await redis.delete(key)
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.redis_url, args.routes, args.runs))
