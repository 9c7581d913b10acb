"""A Redis read can swallow a cancellation; every background loop still stops.

Reproduction (redis-py 6.4 and 8.1, Python 3.11): with a per-read socket
timeout, redis-py wraps each read in `asyncio.timeout`; a cancel that lands as
the read completes is absorbed: the command returns normally, `cancelling()`
stays 1, and a plain `while True:` loop goes on. Without a socket timeout it
does not happen. `routeguard.tasks.raise_if_cancelled()` is the remedy each
loop uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from routeguard.tasks import raise_if_cancelled, stop_tasks

ROUNDS = 300
REPRODUCTION_ROUNDS = 800  # ~1-3 % stick: enough that none sticking means it is fixed
STREAM = "{rgtest-cancel}:stream"


async def reading_loop(redis: Redis, *, checks: bool) -> None:
    """What a notifier loop looks like: blocking reads, Redis errors retried."""
    while True:
        if checks:
            raise_if_cancelled()
        try:
            await redis.xreadgroup("g", "c", {STREAM: ">"}, count=1, block=20)
        except RedisError:
            await asyncio.sleep(0.01)


async def cancel_many(redis: Redis, *, checks: bool, rounds: int = ROUNDS) -> int:
    """Cancel the loop at random moments `rounds` times; how many did not stop within 1 s."""
    rng = random.Random(7)
    stuck = 0
    for _ in range(rounds):
        task = asyncio.create_task(reading_loop(redis, checks=checks))
        await asyncio.sleep(rng.uniform(0, 0.06))
        stuck += await stop_tasks([task], grace_s=1.0)
        while not task.done():  # a stuck one is stopped for good before the next round
            task.cancel()
            await asyncio.sleep(0.05)
    return stuck


@pytest.fixture
async def stream_redis(redis_url: str) -> Redis:
    redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
    await redis.delete(STREAM)
    await redis.xgroup_create(STREAM, "g", id="$", mkstream=True)
    yield redis  # type: ignore[misc]
    await redis.delete(STREAM)
    await redis.aclose()


async def test_loops_that_check_raise_if_cancelled_always_stop(stream_redis: Redis) -> None:
    assert await cancel_many(stream_redis, checks=True) == 0


async def test_raise_if_cancelled_notices_a_cancel_that_was_swallowed() -> None:
    reading = asyncio.Event()

    async def swallowing() -> None:
        reading.set()
        with contextlib.suppress(asyncio.CancelledError):  # what the absorbed read amounts to
            await asyncio.sleep(10)
        raise_if_cancelled()
        await asyncio.sleep(10)

    task = asyncio.create_task(swallowing())
    await reading.wait()  # the cancel lands in the read it swallows
    assert await stop_tasks([task], grace_s=1.0) == 0
    assert task.cancelled()


async def test_reproduction_a_plain_loop_can_outlive_its_cancel(
    stream_redis: Redis,
    record_property,  # type: ignore[no-untyped-def]
) -> None:
    """The redis-py behaviour itself: some plain loops keep running after cancel()."""
    stuck = await cancel_many(stream_redis, checks=False, rounds=REPRODUCTION_ROUNDS)
    record_property("plain_loops_that_outlived_cancel", f"{stuck} of {REPRODUCTION_ROUNDS}")
    print(f"\n{stuck} of {REPRODUCTION_ROUNDS} plain loops kept running after cancel()")
    assert stuck > 0, "redis-py no longer swallows the cancel: raise_if_cancelled may go"
