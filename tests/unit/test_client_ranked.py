"""Cached rankings: the same answer a fresh ranking gives, whatever happened before."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, Reason
from routeguard.breaker.types import RouteStatus, Transition, WindowFigures
from routeguard.client import Candidates, HealthClient
from routeguard.client.candidates import (
    TRIAL_GRACE_MS,
    Preferences,
    Sort,
    health_rank,
    rank_candidates,
    rank_changes_at,
)
from routeguard.client.view import RouteView
from routeguard.config import parse_catalog
from routeguard.outcomes import Outcome

CATALOG = """
providers:
  a: {flavour: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: null}
  b: {flavour: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: null}
  c: {flavour: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: null}
models:
  m: [a/x, b/x, c/x]
  n: [c/x, a/y]
"""
ROUTES = ["a/x", "b/x", "c/x", "a/y"]
START_S = 1_800_000_000.0
OFFSET_MS = 1234.5  # Redis's clock runs ahead of this worker's


class Clock:
    def __init__(self) -> None:
        self.now = START_S

    def __call__(self) -> float:
        return self.now


def client(clock: Clock) -> HealthClient:
    """A client that never connects: the view is fed by hand."""
    health = HealthClient(Redis(), parse_catalog(CATALOG, "test.yaml"), clock=clock)
    health.view.resync([], redis_now_ms=int(START_S * 1000 + OFFSET_MS))
    return health


def transition(route: str, to: BreakerState, version: int, open_until_ms: int) -> Transition:
    return Transition(
        route,
        BreakerState.CLOSED,
        to,
        Reason.FORCED,
        "",
        version,
        0,
        open_until_ms,
        0,
        WindowFigures(),
    )


# -- what can happen to a worker, as hypothesis draws it --------------------------------

states = st.sampled_from(list(BreakerState))
open_for_ms = st.sampled_from([0, -3000, -TRIAL_GRACE_MS, -1, 1, 500, TRIAL_GRACE_MS, 4000])
steps = st.one_of(
    st.tuples(st.just("apply"), st.sampled_from(ROUTES), states, open_for_ms),
    st.tuples(st.just("resync"), st.sampled_from(ROUTES), states, open_for_ms),
    st.tuples(st.just("offset"), st.sampled_from([-50.0, 0.25, 700.0])),
    st.tuples(st.just("fail"), st.sampled_from(ROUTES)),
    st.tuples(st.just("ok"), st.sampled_from(ROUTES), st.floats(0.01, 5), st.floats(1, 500)),
    st.tuples(st.just("time"), st.sampled_from([0.0, 0.0005, 0.5, 1.0, 2.0, 2.5, 7.0])),
    st.tuples(st.just("to_boundary"), st.sampled_from(ROUTES), st.sampled_from([-1, 0, 1])),
)
providers = st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", "c"]), unique=True))
preferences = st.fixed_dictionaries(
    {
        "order": providers,
        "only": providers,
        "ignore": providers,
        "allow_fallbacks": st.booleans(),
        "sort": st.one_of(st.none(), st.sampled_from(list(Sort))),
    }
)


NO_PREFERENCES: dict[str, object] = {
    "order": None,
    "only": None,
    "ignore": None,
    "allow_fallbacks": True,
    "sort": None,
}


def play(
    health: HealthClient, clock: Clock, step: tuple[object, ...], versions: dict[str, int]
) -> None:
    kind = step[0]
    redis_now = health.view.redis_ms_at(clock.now)
    if kind in ("apply", "resync"):
        _, route, state, open_for = step
        assert isinstance(route, str) and isinstance(state, BreakerState)
        versions[route] = versions.get(route, 0) + 1
        until = int(redis_now) + int(str(open_for)) if open_for else 0
        if kind == "apply":
            health.view.apply(transition(route, state, versions[route], until))
        else:
            fields = {"state": state.value, "version": versions[route], "open_until_ms": until}
            health.view.resync([RouteStatus.from_fields(route, fields)], int(redis_now))
    elif kind == "offset":
        health.view.resync([], int(clock.now * 1000 + OFFSET_MS + float(str(step[1]))))
    elif kind == "fail":
        for _ in range(5):  # the catalog's consecutive_failures: suspected here
            health.report(str(step[1]), Outcome.CONNECT_ERROR)
    elif kind == "ok":
        _, route, ttft, tps = step
        health.report(str(route), Outcome.OK, ttft_s=float(str(ttft)), tokens_per_s=float(str(tps)))
    elif kind == "time":
        clock.now += float(str(step[1]))
    else:  # to a boundary of an open route's rank, or a suspicion's end, and next to it
        _, route, nudge = step
        view = health.view[str(route)]
        target = health.view.local_s_at(rank_changes_at(view, redis_now))
        deadline = health.view.suspected_until(str(route))
        for at in (target, deadline):
            if at is not None and clock.now < at < clock.now + 3600:
                clock.now = at + int(str(nudge)) * 1e-6
                return


def fresh(health: HealthClient, clock: Clock, model: str, prefs: dict[str, object]) -> Candidates:
    sort = prefs["sort"]
    return rank_candidates(
        health.catalog.models[model],
        health.view.routes,
        Preferences(
            prefs["order"],
            prefs["only"],
            prefs["ignore"],
            bool(prefs["allow_fallbacks"]),  # type: ignore[arg-type]
            Sort(str(sort)) if sort else None,
        ),
        now_ms=health.view.redis_ms_at(clock.now),
        suspected=lambda r: health.view.suspected(r, clock.now),
        signals=health.signals,
    )


@settings(max_examples=400, deadline=None)
@given(
    st.lists(preferences, min_size=1, max_size=3),
    st.lists(
        st.tuples(steps, st.sampled_from(["m", "n"]), st.integers(0, 2)), min_size=1, max_size=40
    ),
)
def test_a_cached_answer_is_always_the_answer_a_fresh_ranking_gives(
    asked: list[dict[str, object]], script: list[tuple[tuple[object, ...], str, int]]
) -> None:
    """A few questions asked again and again (so answers do come from the cache) while
    transitions, resyncs, offsets, suspicions, reports and time go by."""
    clock = Clock()
    health = client(clock)
    versions: dict[str, int] = {}
    for step, model, which in script:
        play(health, clock, step, versions)
        for prefs in (asked[which % len(asked)], {}):
            cached = health.candidates(model, **prefs)  # type: ignore[arg-type]
            expected = fresh(health, clock, model, {**NO_PREFERENCES, **prefs})
            assert (list(cached), cached.panic, dict(cached.skipped)) == (
                list(expected),
                expected.panic,
                dict(expected.skipped),
            ), f"after {step} at {clock.now}"


def test_the_same_question_gets_the_same_object_until_the_view_changes() -> None:
    clock = Clock()
    health = client(clock)
    first = health.candidates("m")
    assert health.candidates("m") is first
    assert health.candidates("m", order=["b"]) is health.candidates("m", order=("b",))
    health.view.apply(transition("b/x", BreakerState.FORCED_OPEN, 1, 0))
    assert list(health.candidates("m")) == ["a/x", "c/x"]
    assert list(health.candidates("n")) == ["c/x", "a/y"], "a model without b/x is still right"


def test_an_open_route_comes_back_when_its_time_is_long_over_without_any_news() -> None:
    clock = Clock()
    health = client(clock)
    until = int(health.view.redis_now_ms()) + 1000
    health.view.apply(transition("a/x", BreakerState.OPEN, 1, until))
    assert list(health.candidates("m")) == ["b/x", "c/x"]
    clock.now += (1000 + TRIAL_GRACE_MS) / 1000 + 0.001
    assert list(health.candidates("m")) == ["a/x", "b/x", "c/x"]


def test_a_local_suspicion_ends_on_time_without_any_news() -> None:
    clock = Clock()
    health = client(clock)
    for _ in range(5):
        health.report("a/x", Outcome.CONNECT_ERROR)
    assert list(health.candidates("m")) == ["b/x", "c/x"]
    clock.now += health.catalog.routes["a/x"].breaker.local_suspicion_s
    assert list(health.candidates("m")) == ["a/x", "b/x", "c/x"]


def test_sorting_figures_within_a_step_tie_and_keep_catalog_order() -> None:
    clock = Clock()
    health = client(clock)
    health.report("a/x", Outcome.OK, ttft_s=0.500)
    health.report("b/x", Outcome.OK, ttft_s=0.490)  # 2 % faster: noise
    health.report("c/x", Outcome.OK, ttft_s=0.250)
    assert list(health.candidates("m", sort="latency")) == ["c/x", "a/x", "b/x"]
    for _ in range(5):
        health.report("b/x", Outcome.OK, ttft_s=0.1)
    assert list(health.candidates("m", sort="latency")) == ["b/x", "c/x", "a/x"]


def test_an_answer_cannot_be_changed_by_the_caller_it_was_handed_to() -> None:
    health = client(Clock())
    health.view.apply(transition("a/x", BreakerState.FORCED_OPEN, 1, 0))
    answer = health.candidates("m")
    with pytest.raises(AttributeError):
        answer.append("a/x")  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        answer.panic = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        answer.skipped["b/x"] = "mine"
    with pytest.raises(TypeError):
        answer.skipped.pop("a/x")
    assert health.candidates("m") == ("b/x", "c/x")
    assert dict(health.candidates("m").skipped) == {"a/x": "forced_open (forced)"}


@given(states, st.integers(-5000, 5000), st.floats(-6000, 6000), st.booleans())
def test_health_rank_holds_until_the_moment_rank_changes_at_names(
    state: BreakerState, open_for: int, at: float, suspected: bool
) -> None:
    now = 1_800_000_000_000.0
    view = RouteView("a/x", state, 1, "", open_until_ms=int(now) + open_for if open_for else 0)
    change = rank_changes_at(view, now)
    rank = health_rank(view, now, suspected)
    later = now + abs(at)
    if later < change:
        assert health_rank(view, later, suspected) == rank
    if change != float("inf"):
        assert change > now
        ranks = {health_rank(view, change, s) for s in (False, True)}
        assert ranks != {health_rank(view, change - 1e-3, s) for s in (False, True)}


def test_a_new_clock_offset_moves_the_moment_an_open_route_comes_back() -> None:
    clock = Clock()
    health = client(clock)
    until = int(health.view.redis_now_ms()) + 1000
    health.view.apply(transition("a/x", BreakerState.OPEN, 1, until))
    assert list(health.candidates("m")) == ["b/x", "c/x"]
    # A resync finds Redis's clock 3 s further ahead than thought: the grace is over there.
    health.view.resync([], int(health.view.redis_now_ms()) + 3000)
    assert list(health.candidates("m")) == ["a/x", "b/x", "c/x"]
