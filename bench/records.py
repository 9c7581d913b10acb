"""What reading many routes' state records costs: records.lua against a pipeline.

`BreakerStore.records` (the probe scheduler's resync sweep, a worker's catch-up and
full read) sends one `records.lua` call per 250 routes. Beside it, the same read
as it was before, a pipeline of one `HMGET` a route, on the same keys. Printed for
500 and 10,000 routes: the client's CPU and wall time per read, and the Redis time
per route of the script (INFO commandstats). Against a local Redis, every key under
a prefix of its own, deleted after; the two reads are checked to agree.

    .venv/bin/python bench/records.py [--redis-url URL] [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from redis.asyncio import Redis

from routeguard.breaker import BreakerStore, Keys, RouteStatus
from routeguard.breaker.store import RECORD_AND_RUN_READ, _redis_ms, _status_from_record
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome
from routeguard.redis_connect import REDIS_TIME_SCRIPT, connect_redis

ROUTES = 10_000
Read = Callable[[], Awaitable[list[RouteStatus]]]


async def pipelined(redis: Redis, keys: Keys, routes: Sequence[str]) -> list[RouteStatus]:
    """The read as it was: TIME, then one HMGET a route, in one pipeline."""
    pipe = redis.pipeline(transaction=False)
    pipe.eval(REDIS_TIME_SCRIPT, 1, keys.open_index)
    for route in routes:
        pipe.hmget(keys.state(route), RECORD_AND_RUN_READ)
    clock, *replies = await pipe.execute()
    now_ms = _redis_ms(clock)
    return [
        _status_from_record(route, RECORD_AND_RUN_READ, values, now_ms)
        for route, values in zip(routes, replies, strict=True)
    ]


def seen(s: RouteStatus) -> tuple[object, ...]:
    """What a read is for (the clock-dependent figures left out)."""
    return (s.route, s.state, s.reason, s.version, s.since_ms, s.window.consecutive_failures)


async def scripted(store: BreakerStore, routes: Sequence[str]) -> list[RouteStatus]:
    return (await store.records(routes, read=RECORD_AND_RUN_READ))[1]


async def timed(read: Read, runs: int) -> tuple[float, float]:
    """Client CPU and wall time of one read, in ms (mean of `runs`, after one warm-up)."""
    await read()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(runs):
        await read()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    return 1000 * (cpu1 - cpu0) / runs, 1000 * (wall1 - wall0) / runs


async def script_us_per_route(redis: Redis, store: BreakerStore, routes: Sequence[str]) -> str:
    before = (await redis.info("commandstats")).get("cmdstat_evalsha", {})
    await scripted(store, routes)
    after = (await redis.info("commandstats"))["cmdstat_evalsha"]
    calls = after["calls"] - before.get("calls", 0)
    usec = after["usec"] - before.get("usec", 0)
    return (
        f"{usec / len(routes):.1f} us a route, {usec / calls / 1000:.2f} ms a call ({calls} calls)"
    )


async def fill(store: BreakerStore, routes: Sequence[str]) -> None:
    """Every route written once; one in five with a failure, one in seven forced open."""
    for start in range(0, len(routes), 50):
        await asyncio.gather(*(store.record(r, Outcome.OK) for r in routes[start : start + 50]))
    for route in routes[::5]:
        await store.record(route, Outcome.SERVER_ERROR)
    for route in routes[::7]:
        await store.force(route, "open", "bench")


async def run(url: str, runs: int) -> None:
    keys = Keys(prefix=f"rgbench-records-{uuid.uuid4().hex[:8]}")
    redis = connect_redis(url, connect_timeout_s=3, timeout_s=30)
    routes = [f"p{i // 100}/m{i % 100}" for i in range(ROUTES)]
    store = BreakerStore(redis, {r: BreakerSettings() for r in routes}, keys=keys)
    try:
        await fill(store, routes)
        print(f"reading state records (RECORD_AND_RUN_READ), mean of {runs} reads")
        for count in (500, ROUTES):
            some = routes[:count]
            old, new = await pipelined(redis, keys, some), await scripted(store, some)
            assert list(map(seen, old)) == list(map(seen, new)), "the two reads disagree"
            for name, read in (
                ("pipeline of HMGET", partial(pipelined, redis, keys, some)),
                ("records.lua", partial(scripted, store, some)),
            ):
                cpu_ms, wall_ms = await timed(read, runs)
                print(
                    f"  {count:>6} routes, {name:<17}: client CPU {cpu_ms:7.2f} ms, wall {wall_ms:7.2f} ms"
                )
            print(
                f"  {count:>6} routes, records.lua in Redis: {await script_us_per_route(redis, store, some)}"
            )
    finally:
        async for key in redis.scan_iter(match=f"{keys.tag}*", count=1000):
            await redis.delete(key)
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.redis_url, args.runs))


if __name__ == "__main__":
    main()
