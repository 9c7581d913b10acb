"""A flapping provider (down, up, down...): open times grow to open_max_s, then
decay while it stays healthy. A provider that simply stays down is retried
every open_s instead: its trials cost no user traffic."""

from __future__ import annotations

import asyncio

import pytest
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, BreakerStore, Keys, Reason, RouteStatus
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome

from .breaker_helpers import ROUTE, make_store

pytestmark = pytest.mark.redis

OPEN_MS, OPEN_MAX_MS, DECAY_MS = 40, 320, 200
FLAPPY = BreakerSettings(
    consecutive_failures=1,
    open_s=OPEN_MS / 1000,
    open_max_s=OPEN_MAX_MS / 1000,
    trip_decay_s=DECAY_MS / 1000,
    half_open_successes=1,
)


def _open_ms(status: RouteStatus) -> int:
    return status.open_until_ms - status.since_ms


def _assert_duration(status: RouteStatus, base_ms: int) -> None:
    assert status.state == BreakerState.OPEN
    assert base_ms <= _open_ms(status) < base_ms * 1.1 + 1, (status.trips, _open_ms(status))


async def _until_half_open(store: BreakerStore, opened: RouteStatus) -> None:
    # The open time passing is the behaviour under test: sleep it out, then tick.
    await asyncio.sleep(max(0, opened.open_until_ms - opened.now_ms) / 1000 + 0.005)

    async def ticked_out_of_open() -> bool:
        await store.tick()
        return (await store.state(ROUTE)).state != BreakerState.OPEN

    await eventually(ticked_out_of_open, timeout_s=2, what="the open time to end")


async def test_open_time_doubles_per_trip_up_to_open_max_then_decays_when_healthy(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    store = make_store(redis_url, keys, FLAPPY)
    try:
        status = await store.record(ROUTE, Outcome.CONNECT_ERROR)
        durations = [_open_ms(status)]
        for _ in range(5):  # up for a moment (a trial succeeds), then down again
            await _until_half_open(store, status)
            healed = await store.record(ROUTE, Outcome.OK)
            assert healed.state == BreakerState.CLOSED
            status = await store.record(ROUTE, Outcome.CONNECT_ERROR)
            assert status.reason == Reason.CONSECUTIVE_FAILURES
            durations.append(_open_ms(status))
        expected = [40, 80, 160, 320, 320, 320]
        for got, base in zip(durations, expected, strict=True):
            assert base <= got < base * 1.1 + 1, (durations, expected)

        await _until_half_open(store, status)
        healed = await store.record(ROUTE, Outcome.OK)
        assert healed.state == BreakerState.CLOSED and healed.trips == 6

        # Healthy for two decay periods (time passing is the rule): two trips forgiven.
        await asyncio.sleep(2 * DECAY_MS / 1000 + 0.02)
        assert (await store.record(ROUTE, Outcome.OK)).trips == 4
        # Healthy long enough: all forgiven; the next outage starts from open_s again.
        await asyncio.sleep(4 * DECAY_MS / 1000 + 0.02)
        assert (await store.record(ROUTE, Outcome.OK)).trips == 0
        _assert_duration(await store.record(ROUTE, Outcome.CONNECT_ERROR), OPEN_MS)
    finally:
        await store.aclose()


async def test_a_provider_that_stays_down_is_retried_every_open_time(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    store = make_store(redis_url, keys, FLAPPY)
    try:
        status = await store.record(ROUTE, Outcome.CONNECT_ERROR)
        for _ in range(4):
            await _until_half_open(store, status)
            status = await store.record(ROUTE, Outcome.CONNECT_ERROR)
            assert status.reason == Reason.TRIAL_FAILED
            _assert_duration(status, OPEN_MS)
    finally:
        await store.aclose()
