"""Request counts per (endpoint kind, model, what was served), and the rate-limit window.

Benchmarks count attempts where they happen: every request a provider received is
counted once, when its answer is decided, even if the client then went away.
Connections refused while the provider is down never reach it and are not counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from routeguard.sim.base import Limits

Key = tuple[str, str, str]
"""(kind, model, served); model is "" for requests that name none."""


class Stats:
    """Counts of requests a provider received."""

    def __init__(self) -> None:
        self._counts: Counter[Key] = Counter()

    def add(self, kind: str, model: str, served: str) -> None:
        """Count one request."""
        self._counts[(str(kind), model, str(served))] += 1

    def count(
        self, kind: str | None = None, model: str | None = None, served: str | None = None
    ) -> int:
        """Requests matching every filter given (all of them when none is)."""
        return sum(
            n
            for (k, m, s), n in self._counts.items()
            if (kind is None or k == kind)
            and (model is None or m == model)
            and (served is None or s == served)
        )

    @property
    def total(self) -> int:
        """Every request received."""
        return sum(self._counts.values())

    def reset(self) -> None:
        """Forget every count."""
        self._counts.clear()

    def rows(self) -> list[dict[str, Any]]:
        """One row per (kind, model, served), sorted."""
        return [
            {"kind": k, "model": m, "served": s, "count": n}
            for (k, m, s), n in sorted(self._counts.items())
        ]

    def as_doc(self) -> dict[str, Any]:
        """The counts as JSON (what the admin API shows)."""
        return {"total": self.total, "requests": self.rows()}


@dataclass
class RateWindow:
    """A fixed one-minute window: what the success answers' rate-limit headers report."""

    requests_limit: int = 10_000
    tokens_limit: int = 2_000_000
    window_s: float = 60.0
    _start: float = 0.0
    _requests: int = 0
    _tokens: int = 0

    def note(self, now: float, tokens: int = 0) -> Limits:
        """Count one request of `tokens` tokens at `now`; the figures after it."""
        if now - self._start >= self.window_s or now < self._start:
            self._start, self._requests, self._tokens = now, 0, 0
        self._requests += 1
        self._tokens += tokens
        return Limits(
            requests_limit=self.requests_limit,
            requests_remaining=max(self.requests_limit - self._requests, 0),
            tokens_limit=self.tokens_limit,
            tokens_remaining=max(self.tokens_limit - self._tokens, 0),
            reset_s=max(self._start + self.window_s - now, 0.0),
            now=now,
        )
