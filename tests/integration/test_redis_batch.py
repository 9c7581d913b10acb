"""RedisBatcher on a real Redis: commands that come together leave as one pipeline, and
each caller gets its own reply, its own error, or the batch's failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from ha.topology import RedisProcess, own_redis
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from routeguard.breaker.keys import Keys
from routeguard.redis_batch import RedisBatcher

pytestmark = pytest.mark.redis

ECHO = "return {KEYS[1], ARGV[1]}"


@pytest.fixture
async def batcher(redis_client: Redis) -> AsyncIterator[RedisBatcher]:
    made = RedisBatcher(redis_client, window_s=0.05)
    try:
        yield made
    finally:
        await made.aclose()


async def test_commands_that_come_together_leave_in_one_pipeline_each_with_its_reply(
    batcher: RedisBatcher, redis_client: Redis, keys: Keys
) -> None:
    names = [f"{keys.prefix}:batch:{i}" for i in range(5)]
    claims = [batcher.call(lambda pipe, n=n: pipe.set(n, "me", nx=True, px=10_000)) for n in names]
    again = batcher.call(lambda pipe: pipe.set(names[0], "other", nx=True, px=10_000))
    replies = await asyncio.gather(*claims, again)
    assert replies == [True] * 5 + [None], "the sixth SET NX met the first one's key"
    assert (batcher.pipelines, batcher.commands) == (1, 6)
    assert await redis_client.get(names[0]) == b"me"


async def test_one_commands_error_is_its_callers_alone(
    batcher: RedisBatcher, redis_client: Redis, keys: Keys
) -> None:
    hash_key = f"{keys.prefix}:batch:hash"
    await redis_client.hset(hash_key, "f", "v")
    wrong = batcher.call(lambda pipe: pipe.incr(hash_key))
    right = batcher.call(lambda pipe: pipe.hget(hash_key, "f"))
    outcome = await asyncio.gather(wrong, right, return_exceptions=True)
    assert isinstance(outcome[0], ResponseError) and "WRONGTYPE" in str(outcome[0])
    assert outcome[1] == b"v"


async def test_a_full_batch_leaves_without_waiting_for_the_window(
    redis_client: Redis, keys: Keys
) -> None:
    batcher = RedisBatcher(redis_client, window_s=30, max_batch=3)
    key = f"{keys.prefix}:batch:n"
    async with asyncio.timeout(5):  # the 30 s window is never waited for
        replies = await asyncio.gather(*(batcher.call(lambda p: p.incr(key)) for _ in range(3)))
    assert sorted(replies) == [1, 2, 3]
    await batcher.aclose()


async def test_a_caller_that_gives_up_leaves_the_others_their_replies(
    batcher: RedisBatcher, keys: Keys
) -> None:
    key = f"{keys.prefix}:batch:c"
    quitter = asyncio.ensure_future(batcher.call(lambda p: p.incr(key)))
    stayer = asyncio.ensure_future(batcher.call(lambda p: p.incr(key)))
    await asyncio.sleep(0)
    quitter.cancel()
    assert await stayer in (1, 2), "the command was sent either way: INCR ran once or twice"
    assert quitter.cancelled()


async def test_closing_sends_what_waits(redis_client: Redis, keys: Keys) -> None:
    batcher = RedisBatcher(redis_client, window_s=30)
    key = f"{keys.prefix}:batch:closing"
    waiting = asyncio.ensure_future(batcher.call(lambda p: p.set(key, "1")))
    await asyncio.sleep(0)
    await batcher.aclose()
    assert await waiting is True
    assert await redis_client.get(key) == b"1"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """SCRIPT FLUSH is server-wide: only on a server of our own."""
    with own_redis(tmp_path / "redis") as process:
        yield process


async def test_a_script_the_server_lost_is_loaded_again(private_redis: RedisProcess) -> None:
    redis = Redis(port=private_redis.port)
    batcher = RedisBatcher(redis, window_s=0.01)
    script = redis.register_script(ECHO)
    try:
        assert await batcher.script(script, ["k"], ["a"]) == [b"k", b"a"]
        await redis.script_flush()
        assert await batcher.script(script, ["k"], ["b"]) == [b"k", b"b"]
    finally:
        await batcher.aclose()
        await redis.aclose()


async def test_a_redis_that_never_answers_fails_the_batch_within_its_deadline() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # reads nothing, answers nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    redis = Redis(port=port, socket_connect_timeout=1)  # no socket timeout: the batch's deadline
    batcher = RedisBatcher(redis, window_s=0.01, deadline_s=0.3)
    try:
        calls = [batcher.call(lambda p: p.get("k")) for _ in range(2)]
        async with asyncio.timeout(5):
            outcome = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        await batcher.aclose()
        await redis.aclose()
        server.close()
    assert all(isinstance(o, RedisTimeoutError) for o in outcome), outcome
    assert "0.3 s" in str(outcome[0])


async def test_a_command_the_pipeline_refuses_fails_its_batch_instead_of_hanging(
    batcher: RedisBatcher, keys: Keys
) -> None:
    def refused(pipe: object) -> object:
        raise RuntimeError("no such command on this client")

    key = f"{keys.prefix}:batch:refused"
    calls = [batcher.call(refused), batcher.call(lambda p: p.incr(key))]
    async with asyncio.timeout(5):
        outcome = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcome), outcome
