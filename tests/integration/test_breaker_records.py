"""`BreakerStore.records` on a real Redis: many routes read by records.lua in calls of
RECORDS_PER_CALL, each route's record as `state()` reads it, in the order asked."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, BreakerStore, Keys, RouteStatus
from routeguard.breaker.store import RECORD_AND_RUN_READ, RECORDS_PER_CALL
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome

pytestmark = pytest.mark.redis

ROUTES = [f"p{i // 40}/m{i % 40}" for i in range(2 * RECORDS_PER_CALL + 37)]


def _seen(s: RouteStatus) -> tuple[object, ...]:
    return (s.route, s.state, s.reason, s.version, s.since_ms, s.window.consecutive_failures)


@pytest.fixture
async def store(redis_client: Redis, keys: Keys) -> BreakerStore:
    routes = {route: BreakerSettings() for route in ROUTES}
    return BreakerStore(redis_client, routes, keys=keys)


async def test_every_route_of_several_calls_reads_as_state_reads_it(store: BreakerStore) -> None:
    opened = ROUTES[::7]
    failing = [r for r in ROUTES[3::5] if r not in opened]
    for route in opened:
        await store.force(route, "open", "records test")
    for route in failing:
        await store.record(route, Outcome.SERVER_ERROR)

    now_ms, statuses = await store.records(read=RECORD_AND_RUN_READ)

    assert [s.route for s in statuses] == ROUTES
    assert now_ms > 0
    expected = [await store.state(route) for route in ROUTES]
    assert [_seen(s) for s in statuses] == [_seen(s) for s in expected]
    assert {s.route for s in statuses if s.state == BreakerState.FORCED_OPEN} == set(opened)
    assert {s.route for s in statuses if s.window.consecutive_failures} == set(failing)


async def test_a_subset_is_read_in_the_order_asked(store: BreakerStore) -> None:
    asked = [ROUTES[-1], ROUTES[0], ROUTES[RECORDS_PER_CALL]]
    await store.force(ROUTES[0], "open", "records test")

    _, statuses = await store.records(asked)

    assert [s.route for s in statuses] == asked
    assert [s.state for s in statuses] == [
        BreakerState.CLOSED,
        BreakerState.FORCED_OPEN,
        BreakerState.CLOSED,
    ]


async def test_no_routes_still_read_the_clock(store: BreakerStore, redis_client: Redis) -> None:
    seconds, _ = await redis_client.time()

    now_ms, statuses = await store.records([])

    assert statuses == []
    assert now_ms // 1000 >= int(seconds)
