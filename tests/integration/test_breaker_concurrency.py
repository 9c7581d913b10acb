"""Many processes' worth of connections hitting one route at once."""

from __future__ import annotations

import asyncio
import itertools
import json
import random

import pytest
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, BreakerStore, Keys, Reason
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome

from .breaker_helpers import ROUTE

pytestmark = pytest.mark.redis

WRITERS = 50


async def _stores(
    redis_url: str, keys: Keys, settings: BreakerSettings, n: int
) -> list[BreakerStore]:
    """n stores, each on its own connection (as n worker processes would be)."""
    return [
        BreakerStore.from_url(redis_url, {ROUTE: settings}, keys=keys, rng=random.Random(i))
        for i in range(n)
    ]


async def test_fifty_concurrent_writers_open_the_route_exactly_once(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    stores = await _stores(redis_url, keys, BreakerSettings(), WRITERS)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(keys.transitions_channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    try:
        await asyncio.gather(
            *(s.record(ROUTE, Outcome.SERVER_ERROR) for s in stores for _ in range(10))
        )
        status = await stores[0].state(ROUTE)
        assert status.state == BreakerState.OPEN
        assert status.version == 1
        events = await stores[0].events()
        assert [(e.from_state, e.to_state, e.version) for e in events] == [
            (BreakerState.CLOSED, BreakerState.OPEN, 1)
        ]
        messages = []
        while msg := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5):
            messages.append(json.loads(msg["data"]))
        assert len(messages) == 1
        assert (messages[0]["to"], messages[0]["version"]) == ("open", 1)
    finally:
        await pubsub.aclose()
        for s in stores:
            await s.aclose()


async def test_versions_increase_without_gaps_under_concurrent_churn(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    fast = BreakerSettings(
        consecutive_failures=2, open_s=0.01, open_max_s=0.05, half_open_successes=1, window_s=1
    )
    stores = await _stores(redis_url, keys, fast, 20)

    async def churn(store: BreakerStore, rng: random.Random) -> None:
        for _ in range(40):
            roll = rng.random()
            if roll < 0.45:
                await store.record(ROUTE, Outcome.CONNECT_ERROR)
            elif roll < 0.9:
                await store.record(ROUTE, Outcome.OK)
            elif roll < 0.95:
                await store.tick()
            else:
                await store.force(ROUTE, rng.choice(["open", "closed", "auto"]), "churn")
            await asyncio.sleep(rng.random() / 200)  # interleave the racers at random

    try:
        await asyncio.gather(*(churn(s, random.Random(i)) for i, s in enumerate(stores)))
        events = await stores[0].events(count=10_000)
        final = await stores[0].state(ROUTE)
    finally:
        for s in stores:
            await s.aclose()
    assert len(events) > 10, "the churn should have moved the breaker many times"
    assert [e.version for e in events] == list(range(1, len(events) + 1))
    for before, after in itertools.pairwise(events):
        assert after.from_state == before.to_state, (
            f"v{after.version} does not follow v{before.version}"
        )
        assert after.at_ms >= before.at_ms
    assert final.version == events[-1].version
    assert final.state == events[-1].to_state


async def test_half_open_admits_exactly_the_configured_number_of_trials(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    settings = BreakerSettings(
        consecutive_failures=1, open_s=0.05, open_max_s=1, half_open_trials=3, trial_lease_s=0.3
    )
    stores = await _stores(redis_url, keys, settings, 20)
    try:
        await stores[0].record(ROUTE, Outcome.CONNECT_ERROR)
        await asyncio.sleep(0.06)  # open_s (0.05) passes: trials may be asked for
        tokens = await asyncio.gather(*(s.acquire_trial(ROUTE) for s in stores))
        granted = [t for t in tokens if t is not None]
        assert len(granted) == 3
        assert (await stores[0].state(ROUTE)).state == BreakerState.HALF_OPEN
        # The holders never report. Until their leases lapse nobody else gets one...
        assert await stores[5].acquire_trial(ROUTE) is None

        # ...and afterwards a new trial is admitted: the route is not wedged.
        async def admitted() -> bool:
            return await stores[7].acquire_trial(ROUTE) is not None

        await eventually(admitted, timeout_s=3, what="a trial after the leases expired")
    finally:
        for s in stores:
            await s.aclose()


async def test_a_settled_trial_frees_its_lease_for_the_next_back_to_back(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    settings = BreakerSettings(
        consecutive_failures=1, open_s=0.02, open_max_s=1, half_open_successes=2, trial_lease_s=30
    )
    store = BreakerStore.from_url(redis_url, {ROUTE: settings}, keys=keys)
    try:
        await store.record(ROUTE, Outcome.TIMEOUT)
        await asyncio.sleep(0.03)  # open_s (0.02) passes: trials may be asked for
        first = await store.acquire_trial(ROUTE)
        assert first is not None
        assert await store.acquire_trial(ROUTE) is None
        after_first = await store.record(ROUTE, Outcome.OK, trial_token=first)
        assert after_first.state == BreakerState.HALF_OPEN
        second = await store.acquire_trial(ROUTE)
        assert second is not None, "the settled lease must not hold the slot for 30 s"
        closed = await store.record(ROUTE, Outcome.OK, trial_token=second)
        assert closed.state == BreakerState.CLOSED
        assert closed.reason == Reason.TRIAL_SUCCEEDED
    finally:
        await store.aclose()
