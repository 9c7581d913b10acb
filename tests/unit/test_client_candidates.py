"""Candidate ordering invariants, as properties over random views and preferences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from routeguard.breaker import BreakerState
from routeguard.client.candidates import Preferences, Sort, health_rank, rank_candidates
from routeguard.client.view import RouteView

NOW = 1_800_000_000_000.0
PROVIDERS = ["a", "b", "c", "d"]
ROUTES = [f"{p}/m{i}" for p in PROVIDERS for i in range(2)]

views = st.fixed_dictionaries(
    {
        r: st.builds(
            RouteView,
            route=st.just(r),
            state=st.sampled_from(list(BreakerState)),
            open_until_ms=st.sampled_from([0, NOW - 1000, NOW + 5000]),
        )
        for r in ROUTES
    }
)
provider_subsets = st.one_of(st.none(), st.lists(st.sampled_from(PROVIDERS), unique=True))
prefs = st.builds(
    Preferences,
    order=provider_subsets,
    only=provider_subsets,
    ignore=provider_subsets,
    allow_fallbacks=st.booleans(),
    sort=st.one_of(st.none(), st.sampled_from(list(Sort))),
)
suspicions = st.sets(st.sampled_from(ROUTES))
configured = st.lists(st.sampled_from(ROUTES), min_size=1, unique=True)


def _rank(view: dict[str, RouteView], suspected: set[str], route: str) -> int:
    return health_rank(view[route], NOW, route in suspected)


@given(configured, views, prefs, suspicions)
def test_healthy_routes_come_first_and_panic_only_when_none_is_healthy(
    routes: list[str], view: dict[str, RouteView], p: Preferences, suspected: set[str]
) -> None:
    answer = rank_candidates(routes, view, p, now_ms=NOW, suspected=lambda r: r in suspected)
    ranks = [_rank(view, suspected, r) for r in answer]
    if answer.panic:
        assert all(rank > 0 for rank in ranks)
        assert ranks == sorted(ranks), "least bad first"
    else:
        assert all(rank == 0 for rank in ranks), "only healthy routes outside panic"
    assert set(answer) <= set(routes)
    assert len(answer) == len(set(answer))


@given(configured, views, prefs, suspicions)
def test_only_and_ignore_are_honoured(
    routes: list[str], view: dict[str, RouteView], p: Preferences, suspected: set[str]
) -> None:
    answer = rank_candidates(routes, view, p, now_ms=NOW, suspected=lambda r: r in suspected)
    for route in answer:
        provider = route.split("/")[0]
        assert p.only is None or provider in p.only
        assert p.ignore is None or provider not in p.ignore


@given(configured, views, prefs, suspicions)
def test_without_fallbacks_the_answer_never_leaves_the_first_choice(
    routes: list[str], view: dict[str, RouteView], p: Preferences, suspected: set[str]
) -> None:
    p = Preferences(p.order, p.only, p.ignore, False, p.sort)
    answer = rank_candidates(routes, view, p, now_ms=NOW, suspected=lambda r: r in suspected)
    if p.order:
        assert all(r.split("/")[0] in p.order for r in answer)
    else:
        assert len(answer) <= 1


@given(configured, views, suspicions)
def test_never_empty_for_a_configured_model_without_filters(
    routes: list[str], view: dict[str, RouteView], suspected: set[str]
) -> None:
    answer = rank_candidates(
        routes, view, Preferences(), now_ms=NOW, suspected=lambda r: r in suspected
    )
    assert answer, "never empty"
    healthy = [r for r in routes if _rank(view, suspected, r) == 0]
    assert answer.panic == (not healthy)
    if healthy:
        assert list(answer) == healthy, "catalog order kept among healthy routes"
        assert set(answer.skipped) == set(routes) - set(healthy), "each left-out route says why"
    else:
        assert sorted(answer) == sorted(routes), "panic lists every route"


def test_an_expired_open_route_is_left_to_the_trials_then_eligible_without_news() -> None:
    from routeguard.client.candidates import TRIAL_GRACE_MS

    until = int(NOW) + 10
    view = {
        "a/m": RouteView("a/m", BreakerState.OPEN, 3, "consecutive_failures", open_until_ms=until),
        "b/m": RouteView("b/m"),
    }

    def at(now: float) -> list[str]:
        return list(
            rank_candidates(
                ["a/m", "b/m"], view, Preferences(), now_ms=now, suspected=lambda r: False
            )
        )

    assert at(NOW) == ["b/m"]
    assert at(until) == ["b/m"], "the daemon's trial probes decide first"
    assert at(until + TRIAL_GRACE_MS) == ["a/m", "b/m"], "no news: offered without a message"


def test_sort_by_latency_puts_the_fastest_healthy_route_first() -> None:
    from routeguard.client.candidates import Signals

    view = {r: RouteView(r) for r in ("a/m", "b/m", "c/m")}
    signals = Signals(ttft_s={"a/m": 0.9, "b/m": 0.2, "c/m": 0.5})
    answer = rank_candidates(
        list(view),
        view,
        Preferences(sort=Sort.LATENCY),
        now_ms=NOW,
        suspected=lambda r: False,
        signals=signals,
    )
    assert list(answer) == ["b/m", "c/m", "a/m"]
