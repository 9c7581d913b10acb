"""The probe scheduler's resync on a real Redis: what other processes changed comes
back through the events stream and a bounded sweep, never a read of every route."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, BreakerStore, Keys
from routeguard.config.policies import BreakerSettings
from routeguard.daemon.resync import ScheduleResync
from routeguard.daemon.scheduler import in_timed_open, is_suspect
from routeguard.outcomes import Outcome

pytestmark = pytest.mark.redis


def store_of(redis_client: Redis, keys: Keys, count: int) -> BreakerStore:
    routes = {f"p/m{i}": BreakerSettings(min_calls=2, consecutive_failures=3) for i in range(count)}
    return BreakerStore(redis_client, routes, keys=keys)


async def started(store: BreakerStore, sweep_per_s: int) -> ScheduleResync:
    """A resync past its first round (the full read), sweeping `sweep_per_s` routes a round."""
    rounds = ScheduleResync(store, resync_s=1.0, sweep_per_s=sweep_per_s)
    await rounds.next_round()
    return rounds


async def test_the_first_round_reads_every_route_then_only_the_sweep(
    redis_client: Redis, keys: Keys
) -> None:
    store = store_of(redis_client, keys, 10)
    rounds = ScheduleResync(store, resync_s=1.0, sweep_per_s=4)
    first = await rounds.next_round()
    assert {s.route for s in first} == set(store.routes)  # the full read
    swept = [[s.route for s in await rounds.next_round()] for _ in range(3)]
    assert swept == [store.routes[4:8], store.routes[8:] + store.routes[:2], store.routes[2:6]]


async def test_a_failure_run_reported_elsewhere_makes_the_route_suspect_within_a_sweep(
    redis_client: Redis, keys: Keys
) -> None:
    store = store_of(redis_client, keys, 9)
    rounds = await started(store, sweep_per_s=3)
    await store.record("p/m7", Outcome.SERVER_ERROR)  # a worker's failure: no transition
    suspects: set[str] = set()
    for _ in range(3):  # 9 routes, 3 a round: one whole sweep
        suspects |= {s.route for s in await rounds.next_round() if is_suspect(s)}
    assert suspects == {"p/m7"}


async def test_a_route_opened_elsewhere_comes_back_in_the_next_round(
    redis_client: Redis, keys: Keys
) -> None:
    store = store_of(redis_client, keys, 50)
    rounds = await started(store, sweep_per_s=1)
    for _ in range(3):  # a worker's failures open it
        status = await store.record("p/m40", Outcome.SERVER_ERROR)
    assert status.state == BreakerState.OPEN
    statuses = await rounds.next_round()
    opened = [s for s in statuses if s.route == "p/m40"]
    assert [(s.state, s.open_until_ms) for s in opened] == [(status.state, status.open_until_ms)]
    assert in_timed_open(opened[0])  # so its scheduled probes stop: trials decide it
    assert len(statuses) == 2  # the one that moved, and the sweep's one route
