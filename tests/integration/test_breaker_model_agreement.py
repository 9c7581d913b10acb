"""The Lua scripts and the pure-Python model agree on random outcome sequences.

Each operation runs against a real Redis; the model then replays it with the
exact Redis time the script used (returned in its snapshot) and the same
jitter draw, and every field of the result must match.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routeguard.breaker import BreakerStore, ForceTarget, Keys, OutcomeBatch, RouteBreaker
from routeguard.breaker.types import BreakerParams, RouteStatus
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome

from .breaker_helpers import ROUTE

pytestmark = pytest.mark.redis

# Millisecond-scale settings so random sleeps cross every timing rule.
FAST = BreakerSettings(
    window_s=0.2,
    min_calls=4,
    failure_rate=0.5,
    consecutive_failures=3,
    slow_rate=0.75,
    open_s=0.03,
    open_max_s=0.2,
    trip_decay_s=0.15,
    half_open_successes=2,
    half_open_trials=2,
    trial_lease_s=0.05,
    rate_limit_open_min_s=0.02,
)

outcomes = st.sampled_from(list(Outcome))
record_op = st.tuples(
    st.just("record"),
    outcomes,
    st.booleans(),
    st.one_of(st.none(), st.floats(min_value=0, max_value=0.3)),
    st.booleans(),
)
batch_op = st.tuples(
    st.just("batch"),
    st.lists(st.tuples(outcomes, st.booleans(), st.none()), min_size=0, max_size=8),
)
sleep_op = st.tuples(
    st.just("sleep"),
    st.one_of(st.integers(0, 15), st.integers(15, 60), st.integers(60, 220)),
)
ops = st.lists(
    st.one_of(
        record_op,
        record_op,
        record_op,
        batch_op,
        sleep_op,
        sleep_op,
        st.tuples(st.just("acquire")),
        st.tuples(st.just("force"), st.sampled_from(list(ForceTarget))),
    ),
    min_size=1,
    max_size=30,
)


def _comparable(status: RouteStatus) -> RouteStatus:
    return replace(status, transitions=tuple(replace(t, event_id=None) for t in status.transitions))


class Replay:
    """Runs one sequence on Redis and on the model side by side."""

    def __init__(self, store: BreakerStore, seed: int) -> None:
        self.store = store
        self.model = RouteBreaker(ROUTE, BreakerParams.from_settings(FAST))
        self.jitter = random.Random(seed)  # draws in step with the store's rng
        self.tokens: list[str] = []

    async def step(self, op: tuple) -> None:  # type: ignore[type-arg]
        kind = op[0]
        if kind == "sleep":
            await asyncio.sleep(op[1] / 1000)
            return
        if kind == "record":
            _, outcome, slow, retry, use_token = op
            token = self.tokens.pop() if use_token and self.tokens else None
            batch = OutcomeBatch.of(
                outcome, slow=slow and outcome is Outcome.OK, retry_after_s=retry
            )
            got = await self.store.record_batch(ROUTE, batch, trial_token=token)
            want = self.model.apply(batch, got.now_ms, self.jitter.randrange(1000), token or "")
        elif kind == "batch":
            batch = OutcomeBatch.of_sequence((o, s and o is Outcome.OK, r) for o, s, r in op[1])
            got = await self.store.record_batch(ROUTE, batch)
            want = self.model.apply(batch, got.now_ms, self.jitter.randrange(1000))
        elif kind == "acquire":
            got, token = await self.store.acquire_trial_status(ROUTE)
            granted, want = self.model.acquire_trial(token or "unused", got.now_ms)
            assert granted == (token is not None), "lease decisions differ"
            if token:
                self.tokens.append(token)
        else:
            got = await self.store.force(ROUTE, op[1], "property test")
            want = self.model.force(op[1], "property test", got.now_ms)
        expected = replace(self.model.status(got.now_ms), transitions=tuple(want))
        assert _comparable(got) == expected, f"after {op}"


ACCOUNTING = ("tracked_since_ms", "segment_class", "segment_start_ms", "segment_reason")


async def _accounting_agrees(store: BreakerStore, keys: Keys, model: RouteBreaker) -> None:
    held = {
        k.decode(): v.decode() for k, v in (await store.redis.hgetall(keys.state(ROUTE))).items()
    }
    want = {name: str(getattr(model.record, name)) for name in ACCOUNTING}
    assert {
        name: held.get(name, "up" if name == "segment_class" else "") for name in ACCOUNTING
    } == {
        name: "" if value in ("0", "") and name != "segment_class" else value
        for name, value in want.items()
    }
    outages = await store.redis.zrange(keys.outages(ROUTE), 0, -1, withscores=True)
    assert {m.decode(): int(score) for m, score in outages} == model.outages


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=ops, seed=st.integers(0, 2**32))
def test_lua_and_model_agree_on_random_sequences(redis_url: str, sequence: list, seed: int) -> None:  # type: ignore[type-arg]
    async def run() -> None:
        keys = Keys(prefix=f"rgtest-prop-{random.getrandbits(48):x}")
        store = BreakerStore.from_url(redis_url, {ROUTE: FAST}, keys=keys, rng=random.Random(seed))
        replay = Replay(store, seed)
        try:
            for op in sequence:
                await replay.step(op)
            # A plain read (no script) agrees too, and so does the time accounting.
            read = await store.state(ROUTE)
            assert read == replay.model.status(read.now_ms)
            await _accounting_agrees(store, keys, replay.model)
        finally:
            redis = store._redis
            async for key in redis.scan_iter(match=f"{keys.tag}*"):
                await redis.delete(key)
            await store.aclose()

    asyncio.run(run())
