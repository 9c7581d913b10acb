"""The pure-Python breaker model, with time passed in (no Redis)."""

from __future__ import annotations

import pytest

from routeguard.breaker import BreakerState, ForceTarget, Keys, OutcomeBatch, Reason, RouteBreaker
from routeguard.breaker.model import open_duration_ms
from routeguard.breaker.types import BreakerParams
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome

T0 = 1_800_000_000_000
FAIL = OutcomeBatch.of(Outcome.SERVER_ERROR)
OK = OutcomeBatch.of(Outcome.OK)


def breaker(**overrides: float) -> RouteBreaker:
    return RouteBreaker("p/m", BreakerParams.from_settings(BreakerSettings(**overrides)))  # type: ignore[arg-type]


def test_open_time_doubles_per_trip_and_stops_at_open_max() -> None:
    p = BreakerParams.from_settings(BreakerSettings(open_s=5, open_max_s=600))
    assert [open_duration_ms(t, 0, p) for t in range(1, 10)] == [
        5_000,
        10_000,
        20_000,
        40_000,
        80_000,
        160_000,
        320_000,
        600_000,
        600_000,
    ]
    assert open_duration_ms(1, 999, p) == 5_000 + 499  # jitter stays under 10 %


def test_a_hard_down_opens_on_the_configured_failure_and_not_before() -> None:
    b = breaker(consecutive_failures=4)
    for i in range(3):
        assert b.apply(FAIL, T0 + i) == []
    [event] = b.apply(FAIL, T0 + 3)
    assert (event.to_state, event.reason, event.version) == (
        BreakerState.OPEN,
        Reason.CONSECUTIVE_FAILURES,
        1,
    )
    assert event.open_until_ms == T0 + 3 + 5_000


def test_half_open_needs_consecutive_successes_and_a_failed_trial_reopens_for_as_long() -> None:
    b = breaker(consecutive_failures=1, half_open_successes=2)
    b.apply(FAIL, T0)
    expired = T0 + 5_000
    granted, events = b.acquire_trial("t1", expired)
    assert granted and [e.reason for e in events] == [Reason.OPEN_EXPIRED]
    assert b.apply(OK, expired + 10, trial_token="t1") == []
    assert b.record.trial_successes == 1
    [reopened] = b.apply(FAIL, expired + 20)
    # Trials cost no user traffic: a still-dead provider is retried as often,
    # so it is back in use within one open time of healing.
    assert (reopened.reason, reopened.trips) == (Reason.TRIAL_FAILED, 1)
    assert reopened.open_until_ms == expired + 20 + 5_000


def test_a_route_that_trips_again_after_closing_opens_for_longer() -> None:
    b = breaker(consecutive_failures=1, half_open_successes=1)
    b.apply(FAIL, T0)
    b.acquire_trial("t", T0 + 5_000)
    [closed] = b.apply(OK, T0 + 5_001, trial_token="t")
    assert closed.to_state == BreakerState.CLOSED
    [again] = b.apply(FAIL, T0 + 6_000)
    assert (again.reason, again.trips) == (Reason.CONSECUTIVE_FAILURES, 2)
    assert again.open_until_ms == T0 + 6_000 + 10_000


def test_a_trial_lease_expires_so_a_silent_holder_cannot_wedge_the_route() -> None:
    b = breaker(consecutive_failures=1, trial_lease_s=30)
    b.apply(FAIL, T0)
    now = T0 + 5_000
    assert b.acquire_trial("silent", now)[0]
    assert not b.acquire_trial("other", now + 29_999)[0]
    assert b.acquire_trial("other", now + 30_000)[0]


def test_forced_open_records_outcomes_and_never_moves() -> None:
    b = breaker()
    b.force(ForceTarget.OPEN, "drain", T0)
    for i in range(10):
        assert b.apply(OK, T0 + i) == []
    assert b.record.state == BreakerState.FORCED_OPEN
    assert b.status(T0 + 10).window.calls == 10
    [released] = b.force(ForceTarget.AUTO, "back", T0 + 20)
    assert (released.to_state, released.reason) == (BreakerState.CLOSED, Reason.RELEASED)


def test_a_batch_keeps_only_the_trailing_run_of_failures() -> None:
    batch = OutcomeBatch.of_sequence(
        [
            (Outcome.TIMEOUT, False, None),
            (Outcome.OK, True, None),
            (Outcome.CONNECT_ERROR, False, None),
        ]
    )
    assert (batch.calls, batch.failures, batch.slow, batch.trailing_failures) == (3, 2, 1, 1)
    assert batch.last_failure == "connect_error"


def test_a_batch_keeps_the_longest_retry_after() -> None:
    batch = OutcomeBatch.of_sequence(
        [(Outcome.RATE_LIMITED, False, 2.0), (Outcome.RATE_LIMITED, False, 30.0)]
    )
    assert (batch.rate_limited, batch.retry_after_ms, batch.calls) == (2, 30_000, 0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ok": -1}, "negative"),
        ({"ok": 1, "slow": 2}, "slow <= ok"),
        ({"ok": 1, "failures": 1, "trailing_failures": 2}, "trailing_failures"),
        ({"failures": 2, "trailing_failures": 1}, "every failure is trailing"),
    ],
)
def test_an_inconsistent_batch_is_refused(fields: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OutcomeBatch(**fields)


def test_every_key_of_a_deployment_shares_one_hash_tag() -> None:
    keys = Keys("acme")
    names = [*keys.route_keys("together/meta-llama/Llama-3"), keys.transitions_channel]
    assert all(name.startswith("{acme}:") for name in names)
    with pytest.raises(ValueError, match="key prefix"):
        Keys("a{b}")


def test_outcome_classes_say_who_is_to_blame() -> None:
    assert Outcome.SERVER_ERROR.is_failure and Outcome.SERVER_ERROR.counts_against_sla
    assert not Outcome.RATE_LIMITED.is_failure and not Outcome.RATE_LIMITED.counts_for_sla
    assert not Outcome.AUTH_ERROR.counts_for_sla and not Outcome.CLIENT_ERROR.counts_for_sla
    assert Outcome.OK.counts_for_sla and not Outcome.OK.counts_against_sla


def _rate_limited(retry_after_s: float | None) -> OutcomeBatch:
    return OutcomeBatch.of(Outcome.RATE_LIMITED, retry_after_s=retry_after_s)


def test_a_6ms_reset_hint_opens_for_the_rate_limit_floor_not_6ms() -> None:
    b = breaker()
    [event] = b.apply(_rate_limited(0.006), T0)
    assert (event.reason, event.open_until_ms - T0) == (Reason.RATE_LIMITED, 1_000)
    assert event.detail == "retry after 1000 ms"
    assert b.record.trips == 0, "a rate limit is still not a trip"


def test_a_limit_that_outlasts_each_open_doubles_it_up_to_open_max() -> None:
    b = breaker(open_max_s=6)
    now, opens = T0, []
    for _ in range(5):
        [opened] = [e for e in b.apply(_rate_limited(0.006), now) if e.to_state == "open"]
        opens.append(opened.open_until_ms - now)
        now = opened.open_until_ms
        b.acquire_trial("t", now)  # the open time ends: half-open
    assert opens == [1_000, 2_000, 4_000, 6_000, 6_000]


def test_a_close_resets_the_rate_limit_doubling() -> None:
    b = breaker(consecutive_failures=1, half_open_successes=1)
    b.apply(_rate_limited(0.006), T0)
    b.acquire_trial("t", T0 + 1_000)
    b.apply(_rate_limited(0.006), T0 + 1_000)  # a second open in a row: 2 s
    b.acquire_trial("t", T0 + 3_000)
    [closed] = b.apply(OK, T0 + 3_000, trial_token="t")
    assert closed.to_state == BreakerState.CLOSED
    [again] = b.apply(_rate_limited(0.006), T0 + 4_000)
    assert again.open_until_ms - (T0 + 4_000) == 1_000


def test_a_long_retry_after_is_kept_above_the_floor() -> None:
    b = breaker()
    [event] = b.apply(_rate_limited(42), T0)
    assert event.open_until_ms - T0 == 42_000
