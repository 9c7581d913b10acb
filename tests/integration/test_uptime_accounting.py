"""Time accounting through the real Lua scripts (BreakerStore) and the uptime reader."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, BreakerStore, Keys
from routeguard.config import parse_catalog
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome
from routeguard.uptime import read_snapshot, route_records
from routeguard.uptime.timeline import Outage, figures

from .breaker_helpers import ROUTE, make_store

pytestmark = pytest.mark.redis

QUICK = BreakerSettings(consecutive_failures=3, open_s=0.05, open_max_s=0.2, half_open_successes=2)
CATALOG = parse_catalog(
    "providers:\n  sim: {flavour: openai, base_url: 'http://127.0.0.1:1/v1', api_key_env: null}\n"
    "models:\n  a: [sim/model-a]\n",
    "test.yaml",
)


@pytest.fixture
async def store(redis_url: str, keys: Keys, redis_client: Redis) -> AsyncIterator[BreakerStore]:
    s = make_store(redis_url, keys, QUICK, rng=random.Random(7))
    yield s
    await s.aclose()


async def _outages(redis: Redis, keys: Keys) -> list[Outage]:
    members = await redis.zrange(keys.outages(ROUTE), 0, -1)
    return [o for o in (Outage.parse(m.decode()) for m in members) if o is not None]


async def _field(redis: Redis, keys: Keys, name: str) -> str | None:
    value = await redis.hget(keys.state(ROUTE), name)
    return None if value is None else value.decode()


async def _trip(store: BreakerStore) -> None:
    for _ in range(3):
        await store.record(ROUTE, Outcome.SERVER_ERROR)


async def _half_open(store: BreakerStore) -> None:
    async def moved() -> bool:
        await store.tick()
        return (await store.state(ROUTE)).state is BreakerState.HALF_OPEN

    await eventually(moved, timeout_s=5, what="the open time to end")


async def test_a_forced_open_is_one_forced_interval_and_no_down_time(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    opened = await store.force(ROUTE, "open", "maintenance")
    assert opened.outage_since_ms == opened.now_ms
    await eventually(lambda: _now_after(store, opened.now_ms), timeout_s=2, what="a ms to pass")
    released = await store.force(ROUTE, "auto", "done")
    assert released.outage_since_ms == 0
    [outage] = await _outages(redis_client, keys)
    assert outage == Outage(opened.now_ms, released.now_ms, "forced", "forced")
    snap = await read_snapshot(store, now_ms=released.now_ms + 1000)
    got = figures(snap.routes[ROUTE].timeline, released.now_ms - 60_000, released.now_ms + 1000)
    assert got.forced_s == (released.now_ms - opened.now_ms) / 1000
    assert (got.down_s, got.ratio) == (0, 1.0)


async def _now_after(store: BreakerStore, ms: int) -> bool:
    return (await store.state(ROUTE)).now_ms > ms


async def test_a_trip_a_failed_trial_and_a_recovery_are_one_down_interval(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    await _trip(store)
    tripped = await store.state(ROUTE)
    assert tripped.state is BreakerState.OPEN and tripped.outage_since_ms == tripped.since_ms
    await _half_open(store)
    token = await store.acquire_trial(ROUTE)
    failed = await store.record(ROUTE, Outcome.TIMEOUT, trial_token=token)
    assert failed.state is BreakerState.OPEN
    assert failed.outage_since_ms == tripped.outage_since_ms, "a failed trial keeps the outage"
    assert await _outages(redis_client, keys) == [], "one outage goes on"
    await _half_open(store)
    for _ in range(2):
        token = await store.acquire_trial(ROUTE)
        closed = await store.record(ROUTE, Outcome.OK, trial_token=token)
    assert closed.state is BreakerState.CLOSED and closed.outage_since_ms == 0
    assert await _outages(redis_client, keys) == [
        Outage(tripped.since_ms, closed.since_ms, "down", "consecutive_failures")
    ]
    [record] = await route_records(store, CATALOG, now_ms=closed.since_ms)
    down = (closed.since_ms - tripped.since_ms) / 1000
    assert record["uptime"]["5m"]["down_s"] == down
    assert record["outage_since"] is None and record["models"] == ["a"]


async def test_an_auth_error_open_is_auth_quota_time(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    opened = await store.record(ROUTE, Outcome.AUTH_ERROR)
    assert await _field(redis_client, keys, "segment_class") == "auth_quota"
    await eventually(lambda: _now_after(store, opened.now_ms), timeout_s=2, what="a ms to pass")
    closed = await store.record(ROUTE, Outcome.OK)
    assert closed.state is BreakerState.CLOSED
    [outage] = await _outages(redis_client, keys)
    assert (outage.time_class, outage.reason) == ("auth_quota", "auth_error")
    [record] = await route_records(store, CATALOG, now_ms=closed.now_ms)
    window = record["uptime"]["1h"]
    assert window["down_s"] == 0 and window["excluded_s"]["auth_quota"] > 0


async def test_a_route_that_stays_up_costs_one_field_and_no_interval(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    for _ in range(20):
        await store.record(ROUTE, Outcome.OK)
    held = await redis_client.hgetall(keys.state(ROUTE))
    assert set(held) == {b"tracked_since_ms"}
    assert not await redis_client.exists(keys.outages(ROUTE))


async def test_a_legacy_open_hash_starts_its_accounting_at_the_first_touch(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    legacy: dict[str, Any] = {"state": "open", "reason": "failure_rate", "version": 4}
    legacy |= {"since_ms": 1_700_000_000_000, "open_until_ms": 0, "trips": 1}
    await redis_client.hset(keys.state(ROUTE), mapping=legacy)
    untouched = await read_snapshot(store)
    assert untouched.routes[ROUTE].timeline.tracked_since_ms == 0, "nothing known yet"
    [record] = await route_records(store, CATALOG)
    assert record["uptime"]["5m"]["covers_s"] == 0 and record["uptime"]["5m"]["ratio"] is None
    touched = await store.record(ROUTE, Outcome.CLIENT_ERROR)  # changes no state
    assert touched.outage_since_ms == 1_700_000_000_000
    assert await _field(redis_client, keys, "tracked_since_ms") == str(touched.now_ms)
    assert await _field(redis_client, keys, "segment_class") == "down"
    [record] = await route_records(store, CATALOG, now_ms=touched.now_ms + 2000)
    assert record["uptime"]["5m"]["down_s"] == 2.0 and record["uptime"]["5m"]["covers_s"] == 2.0


async def test_the_interval_set_is_capped_and_coverage_starts_at_the_oldest_kept(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    now = (await store.state(ROUTE)).now_ms
    start = now - 86_400_000
    fill = {
        f"{start + i * 10}:{start + i * 10 + 5}:down:x": start + i * 10 + 5 for i in range(2000)
    }
    fill[f"{now - 92 * 86_400_000}:{now - 92 * 86_400_000 + 5}:down:old"] = (
        now - 92 * 86_400_000 + 5
    )
    await redis_client.zadd(keys.outages(ROUTE), fill)
    await redis_client.hset(keys.state(ROUTE), "tracked_since_ms", start - 1000)  # a day ago
    opened = await store.force(ROUTE, "open", "x")
    await eventually(lambda: _now_after(store, opened.now_ms), timeout_s=2, what="a ms to pass")
    await store.force(ROUTE, "auto", "x")
    assert await redis_client.zcard(keys.outages(ROUTE)) == 2000
    oldest = await redis_client.zrange(keys.outages(ROUTE), 0, 0)
    assert oldest == [f"{start + 10}:{start + 15}:down:x".encode()]
    assert await _field(redis_client, keys, "tracked_since_ms") == str(start + 10)
