"""A worker's resync reads only what changed, and all of it when the stream cannot tell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as sync_redis
from conftest import eventually, subscribed
from ha.topology import RedisProcess, own_redis
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, Keys
from routeguard.client import HealthClient
from routeguard.client.catchup import MAX_CHANGES
from routeguard.config import Catalog, parse_catalog

from .breaker_helpers import stream_entry

pytestmark = pytest.mark.redis
NEVER_S = 3600.0  # the resync loop stays out of the way: the test resyncs by hand


def catalog(routes: int) -> Catalog:
    lines = [
        "providers:",
        '  a: {flavour: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: null}',
    ]
    lines += ["models:", "  m: [" + ", ".join(f"a/r{i}" for i in range(routes)) + "]"]
    return parse_catalog("\n".join(lines) + "\n", "test.yaml")


async def set_state(redis: Redis, keys: Keys, route: str, version: int, *, announced: bool) -> None:
    """Route `route` forced open at `version`: with its stream entry (as the scripts
    write it) or, to show what a resync reads, without one."""
    fields = {"state": "forced_open", "reason": "forced", "version": version}
    await redis.hset(keys.state(route), mapping=fields)
    if announced:
        await redis.xadd(keys.events, stream_entry(route, "forced_open", version=version))


@pytest.fixture
def quiet_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of this test's own: every command it counts is the test's."""
    with own_redis(tmp_path / "redis") as process:
        yield process


def command_counts(process: RedisProcess) -> dict[str, int]:
    with sync_redis.Redis(port=process.port) as client:
        stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


@pytest.mark.parametrize("routes", [10, 2000])
async def test_a_resync_with_nothing_new_costs_two_commands_whatever_the_routes(
    quiet_redis: RedisProcess, routes: int
) -> None:
    url = f"redis://127.0.0.1:{quiet_redis.port}/0"
    async with HealthClient.from_url(
        url, config=catalog(routes), key_prefix="rgtest-quiet", resync_s=NEVER_S
    ) as health:
        await subscribed(health.store.redis, Keys("rgtest-quiet").transitions_channel)
        await health.store.force("a/r1", "open", "a stream that is not empty")
        # Heard: the listener is past its own first resync, in its read loop.
        await eventually(lambda: health.view["a/r1"].version == 1, timeout_s=5, what="pub/sub")
        assert await health._sync.resync()  # reads a/r1, named by the stream
        before = command_counts(quiet_redis)
        for _ in range(5):
            assert await health._sync.resync()
        after = command_counts(quiet_redis)
    spent = {c: after[c] - before.get(c, 0) for c in after if after[c] != before.get(c, 0)}
    for counting in ("info", "hello", "client"):  # command_counts()'s own connection
        spent.pop(counting, None)
    spent.pop("ping", None)  # the subscription's liveness check, on its own clock
    assert spent == {"eval": 5, "time": 5, "xrange": 5}, "EVAL of TIME and one XRANGE each"


async def test_a_resync_reads_the_routes_the_stream_names_and_no_other(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with HealthClient.from_url(
        redis_url, config=catalog(3), key_prefix=keys.prefix, resync_s=NEVER_S
    ) as health:
        await set_state(redis_client, keys, "a/r0", 1, announced=True)
        await set_state(redis_client, keys, "a/r1", 1, announced=False)
        assert await health._sync.resync()
        assert health.view["a/r0"].state == BreakerState.FORCED_OPEN
        assert health.view["a/r1"].version == 0, "no event named it: it was not read"
        assert list(health.candidates("m")) == ["a/r1", "a/r2"]


async def test_a_stream_trimmed_past_the_cursor_means_a_full_read(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with HealthClient.from_url(
        redis_url, config=catalog(3), key_prefix=keys.prefix, resync_s=NEVER_S
    ) as health:
        await set_state(redis_client, keys, "a/r0", 1, announced=True)
        assert await health._sync.resync()  # the cursor is a/r0's entry now
        await set_state(redis_client, keys, "a/r1", 1, announced=False)
        await set_state(redis_client, keys, "a/r2", 1, announced=True)
        await redis_client.xtrim(
            keys.events, maxlen=1, approximate=False
        )  # a/r0's entry (the cursor) is gone
        assert await health._sync.resync()
        assert [health.view[r].version for r in ("a/r0", "a/r1", "a/r2")] == [1, 1, 1]


async def test_a_redis_that_lost_its_history_is_taken_at_its_word(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with HealthClient.from_url(
        redis_url, config=catalog(3), key_prefix=keys.prefix, resync_s=NEVER_S
    ) as health:
        await health.store.force("a/r0", "open", "before the loss")
        assert await health._sync.resync()
        assert health.view["a/r0"].version == 1
        async for key in redis_client.scan_iter(match=f"{keys.tag}*"):
            await redis_client.delete(key)  # as a Redis restarted without its data
        assert await health._sync.resync()
        assert (health.view["a/r0"].state, health.view["a/r0"].version) == (
            BreakerState.CLOSED,
            0,
        ), "versions start over: the read replaces the higher one held"


async def test_more_changes_than_a_catch_up_takes_mean_a_full_read(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with HealthClient.from_url(
        redis_url, config=catalog(3), key_prefix=keys.prefix, resync_s=NEVER_S
    ) as health:
        await set_state(redis_client, keys, "a/r0", 1, announced=True)
        assert await health._sync.resync()
        await set_state(redis_client, keys, "a/r1", 1, announced=False)
        pipe = redis_client.pipeline(transaction=False)
        for version in range(2, MAX_CHANGES + 3):  # one more than a catch-up reads
            pipe.xadd(keys.events, stream_entry("a/r0", "forced_open", version=version))
        await pipe.execute()
        assert await health._sync.resync()
        assert health.view["a/r1"].version == 1, "only a full read could have seen it"
