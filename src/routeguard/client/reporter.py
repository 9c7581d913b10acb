"""Aggregates a worker's outcomes per route between flushes.

`report()` on the request path only appends to an in-memory list: no I/O, no
await. The flusher drains the lists into `OutcomeBatch`es (one per route) every
tick, or at once after a hard failure, and records each with one round trip.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from routeguard.breaker.types import OutcomeBatch
from routeguard.outcomes import HARD_FAILURES, ROUTE_UNUSABLE, Outcome

URGENT = HARD_FAILURES | ROUTE_UNUSABLE
"""Outcomes worth a flush of their own: a hard-down provider opens fleet-wide in one trip."""


@dataclass(frozen=True)
class Reported:
    outcome: Outcome
    slow: bool
    retry_after_s: float | None


class OutcomeBuffer:
    """Outcomes reported since the last drain, per route, in the order they came."""

    def __init__(self) -> None:
        self._pending: defaultdict[str, list[Reported]] = defaultdict(list)
        self.urgent = False

    def add(self, route: str, outcome: Outcome, slow: bool, retry_after_s: float | None) -> None:
        self._pending[route].append(Reported(outcome, slow, retry_after_s))
        if outcome in URGENT:
            self.urgent = True

    def __len__(self) -> int:
        return sum(len(v) for v in self._pending.values())

    def drain(self) -> dict[str, OutcomeBatch]:
        """Everything pending, one batch per route; the buffer is empty afterwards."""
        pending, self._pending = self._pending, defaultdict(list)
        self.urgent = False
        return {
            route: OutcomeBatch.of_sequence((r.outcome, r.slow, r.retry_after_s) for r in items)
            for route, items in pending.items()
        }

    def put_back(self, batches: dict[str, OutcomeBatch]) -> None:
        """Batches that could not be recorded are not lost: they are merged back in front."""
        for route, batch in batches.items():
            again = _expand(batch)
            self._pending[route] = again + self._pending[route]


def _expand(batch: OutcomeBatch) -> list[Reported]:
    """A batch as a sequence with the same counts and the same trailing run."""
    leading_failures = batch.failures - batch.trailing_failures
    failure = Outcome(batch.last_failure) if batch.last_failure else Outcome.SERVER_ERROR
    items: list[Reported] = [Reported(failure, False, None)] * leading_failures
    items += [Reported(Outcome.OK, i < batch.slow, None) for i in range(batch.ok)]
    items += [
        Reported(Outcome.RATE_LIMITED, False, (batch.retry_after_ms or 0) / 1000 or None)
    ] * batch.rate_limited
    items += [Reported(Outcome.AUTH_ERROR, False, None)] * batch.auth_errors
    items += [Reported(Outcome.QUOTA_EXHAUSTED, False, None)] * batch.quota_errors
    items += [Reported(failure, False, None)] * batch.trailing_failures
    return items
