"""A worker's rankings, kept until something can change them.

`candidates()` is asked once per request, but its answer changes only when the
view does. So each answer of `rank_candidates` is kept per (model, preferences)
with the local time until which it holds, and dropped when:

- a route of the model changes in the view (a transition applied, a resync that
  changed it, a local suspicion starting, a fail-static decision) or in what the
  worker learnt for sorting (`forget(route)`);
- the clock offset to Redis moves (`forget(None)`: every deadline moved with it);
- its deadline passes: the earliest moment time alone can change the answer (a
  local suspicion ending, an open route's `open_until`, or its end of trial grace).

Bounded: past MAX_ANSWERS different (model, preferences) it starts over.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

from routeguard.client.candidates import Candidates, rank_changes_at
from routeguard.client.view import LocalView

MAX_ANSWERS = 4096
"""More distinct (model, preferences) than this and the cache is cleared: callers
that build a new `order` per request must not grow a worker's memory."""
EARLY_S = 1e-5
"""Deadlines from Redis time end this much early, so float rounding between the two
clocks never keeps an answer a fresh ranking would already have changed."""

Entry = tuple[Candidates, float]  # the answer, and the local time it holds until


class RankingCache:
    """Answers by key (the model alone for default preferences), with their deadlines."""

    def __init__(self, models: Mapping[str, Sequence[str]]) -> None:
        self.answers: dict[Hashable, Entry] = {}
        self._keys_of: dict[str, list[Hashable]] = {}  # model -> its keys in `answers`
        self._models_of: dict[str, list[str]] = {}  # route -> the models that list it
        for model, routes in models.items():
            for route in routes:
                self._models_of.setdefault(route, []).append(model)

    def put(self, model: str, key: Hashable, answer: Candidates, until_s: float) -> None:
        if key not in self.answers:
            if len(self.answers) >= MAX_ANSWERS:
                self.forget(None)
            self._keys_of.setdefault(model, []).append(key)
        self.answers[key] = (answer, until_s)

    def forget(self, route: str | None) -> None:
        """Drop every answer `route` is part of (None: every answer)."""
        if route is None:
            self.answers.clear()
            self._keys_of.clear()
            return
        for model in self._models_of.get(route, ()):
            for key in self._keys_of.pop(model, ()):
                self.answers.pop(key, None)


def valid_until(routes: Sequence[str], view: LocalView, now_s: float) -> float:
    """The local time until which a ranking of `routes` made at `now_s` holds, unless
    news comes: the first suspicion to end or time-based health rank change."""
    now_ms = view.redis_ms_at(now_s)
    changes_ms = math.inf
    until_s = math.inf
    for route in routes:
        changes_ms = min(changes_ms, rank_changes_at(view[route], now_ms))
        suspicion = view.suspected_until(route)
        if suspicion is not None and suspicion > now_s:
            until_s = min(until_s, suspicion)
    if changes_ms < math.inf:
        until_s = min(until_s, view.local_s_at(changes_ms) - EARLY_S)
    return until_s
