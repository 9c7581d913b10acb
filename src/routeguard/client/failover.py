"""Run one request across a model's candidates, failing over where it is safe.

A retry on the next route happens only before the first byte of an answer
reached the caller (after that, a retry would duplicate or splice output), and
only for outcomes another provider may well not share. Every attempt is
reported to the breaker, and the answer says which routes were tried and why
each other one was skipped.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from routeguard.outcomes import WORTH_ANOTHER_ROUTE, Outcome

T = TypeVar("T")


class AttemptFailed(Exception):
    """Raised by the caller's attempt to say how the call to one route failed."""

    def __init__(
        self,
        outcome: Outcome,
        detail: str = "",
        *,
        first_byte_sent: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(detail or outcome.value)
        self.outcome = outcome
        self.first_byte_sent = first_byte_sent
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Attempt:
    route: str
    outcome: Outcome
    latency_s: float
    detail: str = ""


@dataclass
class FailoverResult(Generic[T]):
    """The answer, the route that gave it, every attempt, and why others were skipped."""

    value: T | None
    route: str | None
    attempts: list[Attempt] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    panic: bool = False

    @property
    def ok(self) -> bool:
        return self.route is not None


class FailoverExhausted(Exception):
    """Every candidate failed (or the failure was not safe to retry)."""

    def __init__(self, result: FailoverResult[Any]) -> None:
        tried = ", ".join(f"{a.route}: {a.outcome.value}" for a in result.attempts) or "none"
        super().__init__(f"no route answered ({tried})")
        self.result = result


Report = Callable[[str, Outcome, float, float | None], None]


async def run_with_failover(
    routes: list[str],
    attempt: Callable[[str], Awaitable[T]],
    report: Report,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> FailoverResult[T]:
    """Try `routes` in order; `attempt(route)` returns a value or raises AttemptFailed."""
    result: FailoverResult[T] = FailoverResult(None, None)
    for route in routes:
        started = clock()
        try:
            value = await attempt(route)
        except AttemptFailed as failed:
            latency = clock() - started
            report(route, failed.outcome, latency, failed.retry_after_s)
            result.attempts.append(Attempt(route, failed.outcome, latency, str(failed)))
            if failed.first_byte_sent or failed.outcome not in WORTH_ANOTHER_ROUTE:
                raise FailoverExhausted(result) from failed
            continue
        latency = clock() - started
        report(route, Outcome.OK, latency, None)
        result.attempts.append(Attempt(route, Outcome.OK, latency))
        result.value, result.route = value, route
        return result
    raise FailoverExhausted(result)
