"""Reads what the uptime figures are made of, for every route, in two round trips.

First the breaker states (`BreakerStore.states()`, which also gives the Redis
time), then in one pipeline: each route's accounting fields, its outage intervals
of the last 90 days, its probe buckets summed per window (by a script, so five
values per route cross the wire, not every bucket), and the last probe of every job.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from routeguard.breaker import BreakerStore, RouteStatus
from routeguard.errors import StoreUnavailable
from routeguard.redis_connect import REDIS_TIME_SCRIPT, text
from routeguard.uptime.buckets import ProbeBuckets, ProbeFigures, windows_from
from routeguard.uptime.timeline import Timeline
from routeguard.uptime.windows import LONGEST_MS

T = TypeVar("T")
ACCOUNTING_FIELDS = ("tracked_since_ms", "segment_class", "segment_start_ms", "segment_reason")


@dataclass(frozen=True)
class RouteFacts:
    """One route as read: its breaker, its time accounting and its probe buckets."""

    status: RouteStatus
    timeline: Timeline
    probes: dict[str, ProbeFigures]  # window -> figures; empty when not read


@dataclass(frozen=True)
class Snapshot:
    """Every route of the store at one instant (`now_ms`, Redis time unless given)."""

    now_ms: int
    routes: dict[str, RouteFacts]  # catalog order
    last_probes: dict[str, dict[str, Any]]  # job key -> last probe record


async def read_snapshot(
    store: BreakerStore, *, now_ms: int | None = None, buckets: bool = True
) -> Snapshot:
    """Read every route; `now_ms` fixes the instant the figures are computed at (tests)."""
    statuses = await store.states()
    if now_ms is None:
        now_ms = statuses[0].now_ms if statuses else await _redis_now(store)
    keys, pipe = store.keys, store.redis.pipeline(transaction=False)
    counted = ProbeBuckets(store.redis, keys)
    for status in statuses:
        pipe.hmget(keys.state(status.route), ACCOUNTING_FIELDS)
        pipe.zrangebyscore(keys.outages(status.route), now_ms - LONGEST_MS, "+inf")
        if buckets:
            await counted.queue_windows(pipe, status.route, now_ms)
    pipe.hgetall(keys.last_probes)
    replies = await _guarded(store, pipe.execute())
    step = 3 if buckets else 2
    routes = {
        s.route: _facts(s, replies[i * step : i * step + step], now_ms)
        for i, s in enumerate(statuses)
    }
    last = {text(k): json.loads(text(v)) for k, v in replies[-1].items()}
    return Snapshot(now_ms, routes, last)


def _facts(status: RouteStatus, replies: list[Any], now_ms: int) -> RouteFacts:
    accounting = {n: text(v) for n, v in zip(ACCOUNTING_FIELDS, replies[0], strict=True) if v}
    timeline = Timeline.from_redis(accounting, map(text, replies[1]))
    probes = windows_from([text(v) for v in replies[2]], now_ms) if len(replies) > 2 else {}
    return RouteFacts(status, timeline, probes)


async def _redis_now(store: BreakerStore) -> int:
    seconds, micros = await _guarded(
        store, store.redis.eval(REDIS_TIME_SCRIPT, 1, store.keys.open_index)
    )
    return int(seconds) * 1000 + int(micros) // 1000


async def _guarded(store: BreakerStore, call: Awaitable[T]) -> T:
    try:
        return await call
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise StoreUnavailable(
            f"Redis at {store.where} does not answer ({type(exc).__name__}); "
            "check ROUTEGUARD_REDIS_URL and that the server is running"
        ) from None
