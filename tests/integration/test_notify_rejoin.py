"""After Redis lost the notifier's consumer group, `rejoin()` creates it again from the right id.

Deterministic: the dispatcher's loops are stopped and the test reads through
the group itself, so what the new group hands out is exactly what is checked:
not the transitions already applied (no second page), and every transition
written since the loss (nothing skipped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from routeguard.breaker import BreakerStore, Keys
from routeguard.notify.dispatcher import Dispatcher
from routeguard.notify.store import NotifyStore

from .test_notify_dispatcher import BREAKER, ENV, ROUTES, heal_route, notify_config, open_route

pytestmark = pytest.mark.redis


@pytest.fixture
def store(redis_client: Redis, keys: Keys) -> BreakerStore:
    return BreakerStore(redis_client, dict.fromkeys(ROUTES, BREAKER), keys=keys)


@pytest.fixture
async def stopped_dispatcher(redis_client: Redis, keys: Keys) -> AsyncIterator[Dispatcher]:
    """A dispatcher that joined the groups and stopped its loops: the test drives it."""
    async with httpx.AsyncClient() as http:
        config = notify_config("http://127.0.0.1:9/hook")
        dispatcher = Dispatcher(
            redis_client, keys, config, http, registry=CollectorRegistry(), routes=ROUTES, env=ENV
        )
        await dispatcher.start()
        await dispatcher.stop()
        yield dispatcher


async def _read_new(notify: NotifyStore, keys: Keys) -> list[str]:
    entries = await notify.read(keys.events, "reader", count=100, block_ms=None, own_pending=False)
    return [fields["route"] + ":" + fields["to"] for _, fields in entries]


async def test_a_destroyed_group_restarts_after_the_last_applied_transition(
    redis_client: Redis, keys: Keys, store: BreakerStore, stopped_dispatcher: Dispatcher
) -> None:
    notify = NotifyStore(redis_client, keys)
    await open_route(store, "sim/model-a")
    applied = await notify.read(keys.events, "reader", count=100, block_ms=None, own_pending=False)
    await stopped_dispatcher.apply(applied)
    await redis_client.xgroup_destroy(keys.events, keys.notify_group)  # the stream survived
    await open_route(store, "sim/model-b")  # written while there is no group

    await stopped_dispatcher.rejoin()

    assert await _read_new(notify, keys) == ["sim/model-b:open"]


async def test_a_deleted_stream_hands_out_everything_written_since(
    redis_client: Redis, keys: Keys, store: BreakerStore, stopped_dispatcher: Dispatcher
) -> None:
    notify = NotifyStore(redis_client, keys)
    await open_route(store, "sim/model-a")
    applied = await notify.read(keys.events, "reader", count=100, block_ms=None, own_pending=False)
    await stopped_dispatcher.apply(applied)
    await redis_client.delete(keys.events, keys.notify_outbox)  # Redis lost the streams
    await heal_route(store, "sim/model-a")  # recreates the stream, with no group

    await stopped_dispatcher.rejoin()

    assert await _read_new(notify, keys) == ["sim/model-a:half_open", "sim/model-a:closed"]
    assert await redis_client.exists(keys.notify_outbox), "the outbox group is back too"
    incidents = await stopped_dispatcher.incidents()
    assert [i["provider"] for i in incidents] == ["sim"], "the outage applied before is kept"
