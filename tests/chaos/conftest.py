"""Fixtures of the chaos suite: real processes (a private redis-server) that tests kill."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import subscribed
from ha.topology import RedisProcess, own_redis
from redis.asyncio import Redis

from routeguard.breaker import Keys


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of this test's own on a free loopback port; stopped whatever happens."""
    with own_redis(tmp_path / "redis") as process:
        yield process


def url_of(process: RedisProcess) -> str:
    return f"redis://127.0.0.1:{process.port}/0"


async def listening(process: RedisProcess, keys: Keys) -> None:
    """Until a client subscribes to `keys`' transitions on `process`: no settling sleep."""
    async with Redis.from_url(url_of(process)) as redis:
        await subscribed(redis, keys.transitions_channel)
