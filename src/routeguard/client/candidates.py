"""Ordering a public model's routes for one request: healthy first, never empty.

Pure: the view, the model's configured routes, the caller's preferences and
the time come in; an ordered answer goes out. OpenRouter's provider-preference
vocabulary: `order` (providers to try first), `only`, `ignore`,
`allow_fallbacks` and `sort` (price, latency, throughput).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NoReturn

from routeguard.breaker.types import BreakerState
from routeguard.client.view import RouteView
from routeguard.routes import provider_of

TRIAL_GRACE_MS = 2000
"""After open_until, how long the daemon's trial probes get to decide a route before
workers offer it anyway (in case no daemon is running): trials close a healed
route within about a second, and no user request is sent into a still-dead one."""


class Sort(StrEnum):
    """How to order the healthy routes (else: the catalog's order)."""

    PRICE = "price"  # cheapest first (needs prices)
    LATENCY = "latency"  # lowest recent TTFT first
    THROUGHPUT = "throughput"  # highest recent tokens/s first


class Skipped(dict[str, str]):
    """Route -> why it was left out or demoted; read-only, because one answer may be
    handed to many callers (HealthClient caches it). A dict, so it serialises as one;
    `dict(skipped)` is a copy to change."""

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("Candidates.skipped is read-only: copy it with dict() to change it")

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = __ior__ = _refuse


class Candidates(tuple[str, ...]):
    """Routes to try, in order. `panic` is True when none is healthy: then every
    allowed route is listed, least bad first (Envoy's panic mode), because an
    empty answer would fail the request for sure.

    Immutable (a tuple with read-only `panic` and `skipped`): HealthClient hands
    the same answer to every caller until the view changes, so no caller can
    change what the next one gets. `list(answer)` is a copy to edit."""

    panic: bool
    skipped: Skipped

    def __new__(
        cls, routes: Iterable[str], *, panic: bool, skipped: Mapping[str, str]
    ) -> Candidates:
        answer = super().__new__(cls, routes)
        object.__setattr__(answer, "panic", panic)
        object.__setattr__(answer, "skipped", Skipped(skipped))
        return answer

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Candidates is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Candidates is immutable: cannot delete {name!r}")


@dataclass(frozen=True)
class Preferences:
    order: Sequence[str] | None = None
    only: Sequence[str] | None = None
    ignore: Sequence[str] | None = None
    allow_fallbacks: bool = True
    sort: Sort | None = None


@dataclass(frozen=True)
class Signals:
    """What a worker knows besides breaker state, for sorting and suspicion."""

    ttft_s: Mapping[str, float] = field(default_factory=dict)
    tokens_per_s: Mapping[str, float] = field(default_factory=dict)
    price: Mapping[str, float] = field(default_factory=dict)


def _allowed(routes: Sequence[str], prefs: Preferences, skipped: dict[str, str]) -> list[str]:
    allowed = []
    for route in routes:
        provider = provider_of(route)
        if prefs.only is not None and provider not in prefs.only:
            skipped[route] = "not in only"
        elif prefs.ignore is not None and provider in prefs.ignore:
            skipped[route] = "ignored"
        else:
            allowed.append(route)
    if prefs.order:
        rank = {p: i for i, p in enumerate(prefs.order)}
        allowed.sort(
            key=lambda r: rank.get(provider_of(r), len(rank))
        )  # stable: catalog order next
    if not prefs.allow_fallbacks:
        # The first choice: the providers named in `order` (only those), else the
        # model's first route.
        firsts = (
            [r for r in allowed if provider_of(r) in prefs.order] if prefs.order else allowed[:1]
        )
        for route in allowed:
            if route not in firsts:
                skipped[route] = "fallbacks not allowed"
        allowed = firsts
    return allowed


def _sort_key(prefs: Preferences, signals: Signals) -> Callable[[str], float] | None:
    if prefs.sort == Sort.LATENCY:
        return lambda r: signals.ttft_s.get(r, float("inf"))
    if prefs.sort == Sort.THROUGHPUT:
        return lambda r: -signals.tokens_per_s.get(r, 0.0)
    if prefs.sort == Sort.PRICE:
        return lambda r: signals.price.get(r, float("inf"))
    return None


def health_rank(view: RouteView, now_ms: float, suspected: bool) -> int:
    """0 healthy; higher is worse. Used to keep healthy first and, in panic, least bad first."""
    if view.state in (BreakerState.CLOSED, BreakerState.FORCED_CLOSED):
        return 1 if suspected else 0
    if view.state == BreakerState.OPEN and 0 < view.open_until_ms <= now_ms - TRIAL_GRACE_MS:
        # Open time long over and no news of a trial: eligible without waiting for a message.
        return 0 if not suspected else 1
    if view.state == BreakerState.OPEN and 0 < view.open_until_ms <= now_ms:
        return 2  # the daemon's trial probes are deciding it: keep user traffic away
    if view.state == BreakerState.HALF_OPEN:
        return 2
    if view.state == BreakerState.OPEN:
        return 3
    return 4  # forced_open


def rank_changes_at(view: RouteView, now_ms: float) -> float:
    """The first Redis time after `now_ms` at which `health_rank` of `view` changes by
    time alone (for either suspicion); inf when only news can change it. The
    boundaries are health_rank's: an open route's `open_until_ms`, then that plus
    TRIAL_GRACE_MS."""
    if view.state != BreakerState.OPEN or view.open_until_ms <= 0:
        return math.inf
    for boundary in (view.open_until_ms, view.open_until_ms + TRIAL_GRACE_MS):
        if boundary > now_ms:
            return boundary
    return math.inf


def rank_candidates(
    routes: Sequence[str],
    views: Mapping[str, RouteView],
    prefs: Preferences,
    *,
    now_ms: float,
    suspected: Callable[[str], bool],
    signals: Signals | None = None,
) -> Candidates:
    """Order `routes` (a model's configured routes) for one request."""
    skipped: dict[str, str] = {}
    allowed = _allowed(routes, prefs, skipped)
    key = _sort_key(prefs, signals or Signals())
    ranks = {r: health_rank(views[r], now_ms, suspected(r)) for r in allowed}
    healthy = [r for r in allowed if ranks[r] == 0]
    if key is not None:
        healthy.sort(key=key)
    if healthy:
        for route in allowed:
            if ranks[route] > 0:
                skipped[route] = skip_reason(views[route], ranks[route])
        return Candidates(healthy, panic=False, skipped=skipped)
    least_bad = sorted(allowed, key=lambda r: (ranks[r], views[r].open_until_ms or 0))
    for route in least_bad:
        skipped[route] = skip_reason(views[route], ranks[route])
    return Candidates(least_bad, panic=bool(least_bad), skipped=skipped)


def skip_reason(view: RouteView, rank: int) -> str:
    """Why a route of health rank `rank` (> 0) is not among the healthy ones."""
    if rank == 1:
        return "locally suspected (recent hard failures here)"
    return f"{view.state.value}" + (f" ({view.reason})" if view.reason else "")
