"""The daemon's heartbeat, and the check that someone is writing it.

Each daemon replica stamps `{prefix}:daemons` (hash: replica id -> Redis time in
ms) every HEARTBEAT_S. A worker or `routeguard status` that finds no fresh
stamp under its key prefix says so in one line: a wrong ROUTEGUARD_KEY_PREFIX
otherwise shows every route closed at version 0, which looks healthy and is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from routeguard.breaker import Keys
from routeguard.redis_connect import REDIS_TIME_SCRIPT, text
from routeguard.tasks import raise_if_cancelled

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
FRESH_S = 30.0  # a stamp older than this is a replica that is gone


async def redis_now_ms(redis: Redis, keys: Keys) -> int:
    """Redis TIME in ms, read in the prefix's slot (a bare TIME has no slot on Cluster)."""
    clock = redis.eval(REDIS_TIME_SCRIPT, 1, keys.daemons)
    seconds, micros = await cast("Awaitable[list[Any]]", clock)
    return int(seconds) * 1000 + int(micros) // 1000


async def beat(redis: Redis, keys: Keys, replica_id: str) -> None:
    """Stamp this replica; forget replicas whose stamp is stale."""
    writer: Any = redis  # redis-py 6 and 8 type these differently; both answer ints
    now_ms = await redis_now_ms(redis, keys)
    stamps = await cast("Awaitable[dict[Any, Any]]", redis.hgetall(keys.daemons))
    stale = [r for r, at in stamps.items() if now_ms - int(at) > FRESH_S * 1000]
    if stale:
        await writer.hdel(keys.daemons, *stale)
    await writer.hset(keys.daemons, replica_id, str(now_ms))


async def beat_forever(redis: Redis, keys: Keys, replica_id: str) -> None:
    """The daemon's heartbeat loop, until cancelled."""
    while True:
        raise_if_cancelled()
        # Redis trouble is logged by the store's own paths; the stamp simply ages.
        with contextlib.suppress(RedisError, OSError, ValueError):
            await beat(redis, keys, replica_id)
        await asyncio.sleep(HEARTBEAT_S)


async def live_daemons(redis: Redis, keys: Keys) -> list[str]:
    """Replica ids with a fresh heartbeat under `keys`' prefix."""
    now_ms = await redis_now_ms(redis, keys)
    stamps = await cast("Awaitable[dict[Any, Any]]", redis.hgetall(keys.daemons))
    return sorted(text(r) for r, at in stamps.items() if now_ms - int(at) <= FRESH_S * 1000)


def no_daemon_message(keys: Keys, where: str) -> str:
    """The one line said when nothing writes under the prefix."""
    return (
        f"no routeguard daemon heartbeat under key prefix {keys.prefix!r} at {where}: "
        "every route reads closed at version 0. Check that ROUTEGUARD_KEY_PREFIX matches "
        "the daemon's and that a daemon runs against this Redis"
    )
