"""The breaker's rules, each pinned against a real Redis."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, BreakerStore, Keys, OutcomeBatch, Reason
from routeguard.config.policies import BreakerSettings
from routeguard.errors import RouteError, StateError, StoreUnavailable
from routeguard.outcomes import PROVIDER_FAILURES, Outcome

from .breaker_helpers import ROUTE, make_store

pytestmark = pytest.mark.redis


@pytest.fixture
async def store(redis_url: str, keys: Keys, redis_client: Redis) -> BreakerStore:
    s = make_store(redis_url, keys, BreakerSettings(), rng=random.Random(7))
    yield s  # type: ignore[misc]
    await s.aclose()


async def _redis_now_ms(client: Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_five_percent_random_failures_never_open_with_defaults(
    store: BreakerStore, seed: int
) -> None:
    rng = random.Random(seed)
    failures = [Outcome.SERVER_ERROR, Outcome.TIMEOUT, Outcome.CONNECT_ERROR]
    for _ in range(1000):
        outcome = rng.choice(failures) if rng.random() < 0.05 else Outcome.OK
        status = await store.record(ROUTE, outcome)
        assert status.state == BreakerState.CLOSED, status.detail
    assert status.version == 0


@pytest.mark.parametrize("failure", sorted(PROVIDER_FAILURES))
async def test_a_hard_down_opens_after_exactly_consecutive_failures(
    store: BreakerStore, failure: Outcome
) -> None:
    threshold = BreakerSettings().consecutive_failures
    for i in range(1, threshold):
        status = await store.record(ROUTE, failure)
        assert status.state == BreakerState.CLOSED, f"opened after {i} failures"
    status = await store.record(ROUTE, failure)
    assert status.state == BreakerState.OPEN
    assert status.reason == Reason.CONSECUTIVE_FAILURES
    assert status.detail == f"{threshold} consecutive failures, last {failure}"
    assert status.transitions[0].window.consecutive_failures == threshold


async def test_a_success_resets_the_consecutive_count(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    store = make_store(redis_url, keys, BreakerSettings(min_calls=100))  # no rate rule
    try:
        for _ in range(4):
            await store.record(ROUTE, Outcome.SERVER_ERROR)
        await store.record(ROUTE, Outcome.OK)
        status = await store.record(ROUTE, Outcome.SERVER_ERROR)
        assert status.state == BreakerState.CLOSED
        assert status.window.consecutive_failures == 1
    finally:
        await store.aclose()


async def test_a_brownout_opens_on_failure_rate_once_min_calls_is_reached(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    store = make_store(redis_url, keys, BreakerSettings(min_calls=10, consecutive_failures=50))
    try:
        for i in range(9):
            outcome = Outcome.SERVER_ERROR if i % 2 == 0 else Outcome.OK
            assert (await store.record(ROUTE, outcome)).state == BreakerState.CLOSED
        status = await store.record(ROUTE, Outcome.OK)  # 5 of 10 failed: rate 0.5
        assert (status.state, status.reason) == (BreakerState.OPEN, Reason.FAILURE_RATE)
        assert status.detail == "5 of 10 calls failed in the window"
    finally:
        await store.aclose()


async def test_slow_calls_open_the_route_on_slow_rate(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    store = make_store(redis_url, keys, BreakerSettings(min_calls=5, slow_rate=0.8))
    try:
        for slow in (True, True, True, False, False):
            await store.record(ROUTE, Outcome.OK, slow=slow)
        for k in range(1, 5):  # (3 + k) of (5 + k) slow stays under 0.8 ...
            status = await store.record(ROUTE, Outcome.OK, slow=True)
            assert status.state == BreakerState.CLOSED, f"opened at {3 + k} of {5 + k}"
        status = await store.record(ROUTE, Outcome.OK, slow=True)  # ... until 8 of 10
        assert (status.state, status.reason) == (BreakerState.OPEN, Reason.SLOW_RATE)
        assert status.detail == "8 of 10 calls slow in the window"
    finally:
        await store.aclose()


async def test_failures_leave_the_window_after_window_s(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    store = make_store(redis_url, keys, BreakerSettings(window_s=0.3, consecutive_failures=50))
    try:
        await store.record(ROUTE, Outcome.SERVER_ERROR)
        assert (await store.state(ROUTE)).window.failures == 1

        async def emptied() -> bool:
            return (await store.state(ROUTE)).window.calls == 0

        await eventually(emptied, timeout_s=2, what="the window to forget the failure")
    finally:
        await store.aclose()


async def test_a_429_opens_until_retry_after_and_counts_no_failure(
    store: BreakerStore, redis_client: Redis
) -> None:
    status = await store.record(ROUTE, Outcome.RATE_LIMITED, retry_after_s=42)
    assert (status.state, status.reason) == (BreakerState.OPEN, Reason.RATE_LIMITED)
    assert status.open_until_ms - status.since_ms == 42_000
    assert status.window.calls == 0 and status.window.failures == 0
    assert status.trips == 0, "capacity is not a failure: no backoff growth"


async def test_a_later_retry_after_extends_the_open_time_and_a_shorter_one_does_not(
    store: BreakerStore,
) -> None:
    first = await store.record(ROUTE, Outcome.RATE_LIMITED, retry_after_s=1)
    shorter = await store.record(ROUTE, Outcome.RATE_LIMITED, retry_after_s=0.5)
    assert shorter.open_until_ms == first.open_until_ms
    assert shorter.transitions == ()
    longer = await store.record(ROUTE, Outcome.RATE_LIMITED, retry_after_s=60)
    assert longer.open_until_ms - longer.now_ms == 60_000
    assert [(t.from_state, t.to_state) for t in longer.transitions] == [
        (BreakerState.OPEN, BreakerState.OPEN)
    ]
    assert longer.version == first.version + 1


async def test_a_6ms_reset_hint_opens_for_the_floor_and_a_persisting_limit_doubles_it(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    settings = BreakerSettings(rate_limit_open_min_s=0.05, open_s=0.05, open_max_s=0.15)
    store = make_store(redis_url, keys, settings)
    try:
        opens = []
        for _ in range(4):
            status = await store.record(ROUTE, Outcome.RATE_LIMITED, retry_after_s=0.006)
            assert (status.state, status.reason) == (BreakerState.OPEN, Reason.RATE_LIMITED)
            opens.append(status.open_until_ms - status.now_ms)

            async def half_open() -> bool:
                await store.tick()
                return (await store.state(ROUTE)).state == BreakerState.HALF_OPEN

            await eventually(half_open, timeout_s=2, what="the open time to end")
        assert opens == [50, 100, 150, 150]
        assert status.trips == 0
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [(Outcome.AUTH_ERROR, Reason.AUTH_ERROR), (Outcome.QUOTA_EXHAUSTED, Reason.QUOTA_EXHAUSTED)],
)
async def test_an_unusable_route_opens_at_once_and_closes_on_the_first_success(
    store: BreakerStore, outcome: Outcome, reason: Reason
) -> None:
    status = await store.record(ROUTE, outcome)
    assert (status.state, status.reason, status.open_until_ms) == (BreakerState.OPEN, reason, 0)
    assert status.window.failures == 0, "not provider downtime"
    assert await store.tick() == [], "no timed expiry: only a success reopens the route"
    again = await store.record(ROUTE, outcome)
    assert again.state == BreakerState.OPEN and again.version == status.version
    healed = await store.record(ROUTE, Outcome.OK)
    assert (healed.state, healed.reason) == (BreakerState.CLOSED, Reason.TRIAL_SUCCEEDED)


async def test_client_errors_are_ignored(store: BreakerStore) -> None:
    for _ in range(20):
        status = await store.record(ROUTE, Outcome.CLIENT_ERROR)
    assert status.state == BreakerState.CLOSED
    assert status.window.calls == 0 and status.version == 0


async def test_tick_moves_expired_open_routes_to_half_open_and_returns_them(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    store = make_store(redis_url, keys, BreakerSettings(consecutive_failures=1, open_s=0.1))
    try:
        opened = await store.record(ROUTE, Outcome.CONNECT_ERROR)
        assert await store.tick() == []
        # The open time running out is the rule under test: let it pass, then tick.
        await asyncio.sleep((opened.open_until_ms - opened.now_ms) / 1000 + 0.01)
        moved = await store.tick()
        assert [(t.route, t.to_state, t.reason) for t in moved] == [
            (ROUTE, BreakerState.HALF_OPEN, Reason.OPEN_EXPIRED)
        ]
        assert (await store.state(ROUTE)).state == BreakerState.HALF_OPEN
        assert await store.tick() == [], "a route moves once"
    finally:
        await store.aclose()


async def test_a_failed_trial_reopens_for_the_same_open_time(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    settings = BreakerSettings(consecutive_failures=1, open_s=0.05, open_max_s=10)
    store = make_store(redis_url, keys, settings)
    try:
        first = await store.record(ROUTE, Outcome.SERVER_ERROR)
        await asyncio.sleep(0.06)  # open_s (0.05) passes: the tick makes the trial
        await store.tick()
        again = await store.record(ROUTE, Outcome.SERVER_ERROR)
        assert (again.state, again.reason, again.trips) == (
            BreakerState.OPEN,
            Reason.TRIAL_FAILED,
            1,
        )
        base = first.open_until_ms - first.now_ms
        assert 50 <= again.open_until_ms - again.now_ms < 50 * 1.1 + 1, base
    finally:
        await store.aclose()


async def test_forced_states_record_but_never_move_and_auto_releases(store: BreakerStore) -> None:
    forced = await store.force(ROUTE, "closed", "maintenance window")
    assert (forced.state, forced.reason, forced.detail) == (
        BreakerState.FORCED_CLOSED,
        Reason.FORCED,
        "maintenance window",
    )
    for _ in range(20):
        status = await store.record(ROUTE, Outcome.CONNECT_ERROR)
    assert status.state == BreakerState.FORCED_CLOSED
    assert status.window.failures == 20, "forced routes still record"
    opened = await store.force(ROUTE, "open", "drain")
    assert opened.state == BreakerState.FORCED_OPEN
    assert (await store.record(ROUTE, Outcome.OK)).state == BreakerState.FORCED_OPEN
    released = await store.force(ROUTE, "auto", "done")
    assert (released.state, released.reason) == (BreakerState.CLOSED, Reason.RELEASED)
    assert released.window.calls == 0, "released with a fresh window"
    events = await store.events()
    assert [e.reason for e in events] == [Reason.FORCED, Reason.FORCED, Reason.RELEASED]
    assert (await store.transition_counts())[ROUTE] == {
        ("closed", "forced_closed"): 1,
        ("forced_closed", "forced_open"): 1,
        ("forced_open", "closed"): 1,
    }


async def test_bad_input_changes_nothing(store: BreakerStore, redis_client: Redis) -> None:
    await store.record(ROUTE, Outcome.SERVER_ERROR)
    before = await store.state(ROUTE)
    with pytest.raises(
        StateError, match="unknown forced state 'half_open': use open, closed or auto"
    ):
        await store.force(ROUTE, "half_open", "nope")
    with pytest.raises(RouteError, match="unknown route 'nope/x'"):
        await store.record("nope/x", Outcome.SERVER_ERROR)
    with pytest.raises(RouteError):
        await store.force("nope/x", "open", "nope")
    after = await store.state(ROUTE)
    assert (after.version, after.window) == (before.version, before.window)
    assert await store.events() == []


async def test_an_unreachable_redis_gives_one_clear_error_with_the_password_redacted() -> None:
    store = BreakerStore.from_url(
        "redis://admin:s3cret-pw@127.0.0.1:1/0", {ROUTE: BreakerSettings()}
    )
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await store.record(ROUTE, Outcome.OK)
        message = str(caught.value)
        assert "s3cret-pw" not in message
        assert "redis://admin:***@127.0.0.1:1/0" in message
    finally:
        await store.aclose()


async def test_events_since_returns_only_later_transitions(store: BreakerStore) -> None:
    await store.force(ROUTE, "open", "one")
    first = (await store.events())[0]
    await store.force(ROUTE, "closed", "two")
    later = await store.events(since=first.event_id)
    assert [e.detail for e in later] == ["two"]
    with pytest.raises(StateError, match="bad event id"):
        await store.events(since="not-an-id")


async def test_a_batch_from_a_worker_counts_every_outcome(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    store = make_store(redis_url, keys, BreakerSettings(min_calls=100))
    batch = OutcomeBatch.of_sequence(
        [(Outcome.OK, True, None), (Outcome.SERVER_ERROR, False, None), (Outcome.OK, False, None)]
        + [(Outcome.TIMEOUT, False, None)] * 2
    )
    status = await store.record_batch(ROUTE, batch)
    assert status.window.as_dict() == {
        "calls": 5,
        "failures": 3,
        "slow": 1,
        "consecutive_failures": 2,
    }
    await store.aclose()


async def test_a_client_clock_far_off_changes_nothing(
    redis_url: str, keys: Keys, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    skew = 86_400 * 365  # the worker believes it is a year later
    real_time, real_time_ns = time.time, time.time_ns
    monkeypatch.setattr(time, "time", lambda: real_time() + skew)
    monkeypatch.setattr(time, "time_ns", lambda: real_time_ns() + skew * 10**9)
    store = make_store(redis_url, keys, BreakerSettings(consecutive_failures=1, open_s=0.2))
    try:
        server_before = await _redis_now_ms(redis_client)
        opened = await store.record(ROUTE, Outcome.SERVER_ERROR)
        server_after = await _redis_now_ms(redis_client)
        assert server_before <= opened.since_ms <= server_after
        assert opened.open_until_ms - opened.since_ms < 250
        assert await store.tick() == [], "the open time is judged by the server's clock"
        await asyncio.sleep(0.25)  # past open_s (0.2) by the server's clock, the rule under test
        assert [t.to_state for t in await store.tick()] == [BreakerState.HALF_OPEN]
    finally:
        await store.aclose()
