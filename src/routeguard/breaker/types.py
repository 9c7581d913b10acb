"""Breaker vocabulary: states, reasons, parameters, outcome batches, transitions."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import PROVIDER_FAILURES, Outcome

WINDOW_BUCKETS = 10
"""The window is kept as this many time buckets (Hystrix's 10 x 1 s shape)."""
JITTER_SCALE = 10_000
"""Jitter draws are integers in [0, 1000); the jitter is d * draw / 10000 (< 10 %)."""
MAX_TRIPS = 32
"""The trip counter saturates here (2**31 x open_s is past any open_max_s)."""


class BreakerState(StrEnum):
    """Where a route's breaker stands."""

    CLOSED = "closed"  # traffic flows; outcomes are counted in the window
    OPEN = "open"  # no traffic until open_until_ms (or a success, for auth/quota)
    HALF_OPEN = "half_open"  # trial calls, by lease, decide between closed and open
    FORCED_OPEN = "forced_open"  # operator override: records, never moves by itself
    FORCED_CLOSED = "forced_closed"  # operator override: records, never moves by itself

    @property
    def admits_traffic(self) -> bool:
        """True when routing workers may send ordinary traffic to the route."""
        return self in (BreakerState.CLOSED, BreakerState.FORCED_CLOSED)


class Reason(StrEnum):
    """Why a transition happened: a closed set of short codes (docs/breaker.md)."""

    CONSECUTIVE_FAILURES = "consecutive_failures"  # hard-down fast path
    FAILURE_RATE = "failure_rate"  # brownout: too many failures in the window
    SLOW_RATE = "slow_rate"  # brownout: too many slow calls in the window
    RATE_LIMITED = "rate_limited"  # 429: open until Retry-After
    AUTH_ERROR = "auth_error"  # key rejected: open until a success
    QUOTA_EXHAUSTED = "quota_exhausted"  # no credit: open until a success
    OPEN_EXPIRED = "open_expired"  # open time over: half-open trials begin
    TRIAL_SUCCEEDED = "trial_succeeded"  # enough trial successes: closed again
    TRIAL_FAILED = "trial_failed"  # a trial failed: open again, for longer
    FORCED = "forced"  # operator forced open or closed
    RELEASED = "released"  # operator handed the route back to the breaker


class ForceTarget(StrEnum):
    """What an operator may ask for (`routeguard force ROUTE open|closed|auto`)."""

    OPEN = "open"
    CLOSED = "closed"
    AUTO = "auto"


@dataclass(frozen=True)
class BreakerParams:
    """BreakerSettings in the integer milliseconds the Lua scripts work in."""

    bucket_ms: int
    buckets: int
    min_calls: int
    failure_rate: float
    slow_rate: float
    consecutive_failures: int
    open_ms: int
    open_max_ms: int
    trip_decay_ms: int
    half_open_successes: int
    half_open_trials: int
    trial_lease_ms: int
    rate_limit_open_min_ms: int

    @classmethod
    def from_settings(cls, s: BreakerSettings) -> BreakerParams:
        window_ms = max(WINDOW_BUCKETS, round(s.window_s * 1000))
        return cls(
            bucket_ms=math.ceil(window_ms / WINDOW_BUCKETS),
            buckets=WINDOW_BUCKETS,
            min_calls=s.min_calls,
            failure_rate=s.failure_rate,
            slow_rate=s.slow_rate,
            consecutive_failures=s.consecutive_failures,
            open_ms=max(1, round(s.open_s * 1000)),
            open_max_ms=max(1, round(s.open_max_s * 1000)),
            trip_decay_ms=max(1, round(s.trip_decay_s * 1000)),
            half_open_successes=s.half_open_successes,
            half_open_trials=s.half_open_trials,
            trial_lease_ms=max(1, round(s.trial_lease_s * 1000)),
            rate_limit_open_min_ms=max(1, round(s.rate_limit_open_min_s * 1000)),
        )

    def as_arg(self) -> str:
        """The parameters as the one comma-separated argument the Lua prelude reads."""
        values = [
            self.bucket_ms,
            self.buckets,
            self.min_calls,
            repr(self.failure_rate),
            repr(self.slow_rate),
            self.consecutive_failures,
            self.open_ms,
            self.open_max_ms,
            self.trip_decay_ms,
            self.half_open_successes,
            self.half_open_trials,
            self.trial_lease_ms,
            self.rate_limit_open_min_ms,
        ]
        return ",".join(str(v) for v in values)


@dataclass(frozen=True)
class OutcomeBatch:
    """Outcomes of one route aggregated by a worker (or a single outcome).

    Order inside a batch is lost except for `trailing_failures`: how many
    failures ended the batch with no success after them.
    """

    ok: int = 0
    slow: int = 0
    failures: int = 0
    trailing_failures: int = 0
    last_failure: str = ""
    rate_limited: int = 0
    retry_after_ms: int | None = None
    auth_errors: int = 0
    quota_errors: int = 0

    def __post_init__(self) -> None:
        counts = (self.ok, self.slow, self.failures, self.trailing_failures, self.rate_limited)
        if min((*counts, self.auth_errors, self.quota_errors)) < 0:
            raise ValueError("outcome counts cannot be negative")
        if self.slow > self.ok:
            raise ValueError("slow counts successes that were slow: slow <= ok")
        if self.trailing_failures > self.failures:
            raise ValueError("trailing_failures cannot exceed failures")
        if self.ok == 0 and self.trailing_failures != self.failures:
            raise ValueError("with no success in the batch every failure is trailing")
        if self.retry_after_ms is not None and self.retry_after_ms < 0:
            raise ValueError("retry_after_ms cannot be negative")

    @property
    def calls(self) -> int:
        """Calls that enter the window (successes and provider failures)."""
        return self.ok + self.failures

    @classmethod
    def of(
        cls, outcome: Outcome, *, slow: bool = False, retry_after_s: float | None = None
    ) -> OutcomeBatch:
        """The batch holding exactly one outcome."""
        return cls.of_sequence([(outcome, slow, retry_after_s)])

    @classmethod
    def of_sequence(cls, outcomes: Iterable[tuple[Outcome, bool, float | None]]) -> OutcomeBatch:
        """Aggregate (outcome, slow, retry_after_s) triples in the order they happened."""
        c: dict[str, Any] = {"ok": 0, "slow": 0, "failures": 0, "trailing_failures": 0}
        c |= {"last_failure": "", "rate_limited": 0, "retry_after_ms": None}
        c |= {"auth_errors": 0, "quota_errors": 0}
        for outcome, slow, retry_after_s in outcomes:
            _count_one(c, outcome, slow, retry_after_s)
        return cls(**c)


def _count_one(c: dict[str, Any], outcome: Outcome, slow: bool, retry_s: float | None) -> None:
    if outcome is Outcome.OK:
        c["ok"] += 1
        c["slow"] += int(slow)
        c["trailing_failures"] = 0
    elif outcome in PROVIDER_FAILURES:
        c["failures"] += 1
        c["trailing_failures"] += 1
        c["last_failure"] = outcome.value
    elif outcome is Outcome.RATE_LIMITED:
        c["rate_limited"] += 1
        if retry_s is not None:
            ms = max(0, round(retry_s * 1000))
            c["retry_after_ms"] = max(ms, c["retry_after_ms"] or 0)
    elif outcome is Outcome.AUTH_ERROR:
        c["auth_errors"] += 1
    elif outcome is Outcome.QUOTA_EXHAUSTED:
        c["quota_errors"] += 1
    # CLIENT_ERROR: our request was wrong; the breaker ignores it.


LEGACY_FIELDS: Mapping[str, str] = {
    "since": "since_ms",
    "open_until": "open_until_ms",
    "decay_from": "decay_from_ms",
    "consecutive": "consecutive_failures",
    "trial_ok": "trial_successes",
    "rate_open": "rate_open_ms",
}
"""Old field name -> current name, in state hashes and stream entries written before
the rename (lua/prelude.lua keeps the same map as LEGACY; docs/redis-schema.md)."""


def with_current_names(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` with each legacy name read as its current one (the current name wins)."""
    current = dict(fields)
    for old, new in LEGACY_FIELDS.items():
        if old in current:
            value = current.pop(old)
            current.setdefault(new, value)
    return current


@dataclass(frozen=True)
class WindowFigures:
    """Counts over the breaker window, as of one instant."""

    calls: int = 0
    failures: int = 0
    slow: int = 0
    consecutive_failures: int = 0

    @classmethod
    def from_fields(cls, f: Mapping[str, Any]) -> WindowFigures:
        """Read from an event, a snapshot or a hash read (current field names)."""
        return cls(
            calls=int(f.get("calls", 0)),
            failures=int(f.get("failures", 0)),
            slow=int(f.get("slow", 0)),
            consecutive_failures=int(f.get("consecutive_failures", 0)),
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "failures": self.failures,
            "slow": self.slow,
            "consecutive_failures": self.consecutive_failures,
        }


@dataclass(frozen=True)
class Transition:
    """One state change of one route, as appended to the stream and published.

    The event's fields are those of lua/prelude.lua's EVENT_FIELDS; `from` and `to`
    are Python keywords, hence the attributes `from_state` and `to_state`.
    """

    route: str
    from_state: BreakerState
    to_state: BreakerState
    reason: Reason
    detail: str
    version: int
    at_ms: int
    open_until_ms: int
    trips: int
    window: WindowFigures
    event_id: str | None = None

    @classmethod
    def from_fields(cls, f: Mapping[str, Any], event_id: str | None = None) -> Transition:
        """Build from a stream entry or a published message (string or number values);
        entries written before the field rename decode the same (LEGACY_FIELDS)."""
        f = with_current_names(f)
        return cls(
            route=str(f["route"]),
            from_state=BreakerState(f["from"]),
            to_state=BreakerState(f["to"]),
            reason=Reason(f["reason"]),
            detail=str(f.get("detail", "")),
            version=int(f["version"]),
            at_ms=int(f["at_ms"]),
            open_until_ms=int(f.get("open_until_ms", 0)),
            trips=int(f.get("trips", 0)),
            window=WindowFigures.from_fields(f),
            event_id=event_id,
        )


@dataclass(frozen=True)
class RouteStatus:
    """A route's breaker as read at one instant (`now_ms`, Redis time)."""

    route: str
    state: BreakerState
    reason: Reason | None
    detail: str
    since_ms: int
    version: int
    open_until_ms: int
    trips: int
    window: WindowFigures
    now_ms: int
    trial_successes: int = 0
    outage_since_ms: int = 0  # start of the current outage (not admitting traffic); 0 when up
    transitions: tuple[Transition, ...] = field(default=())

    @classmethod
    def from_fields(cls, route: str, f: Mapping[str, Any]) -> RouteStatus:
        """Build from a script's snapshot (JSON numbers) or a read of the hash (with the
        window's figures and `now_ms` added); a hash not yet migrated reads the same."""
        f = with_current_names(f)
        reason = str(f.get("reason") or "")
        return cls(
            route=route,
            state=BreakerState(f.get("state") or BreakerState.CLOSED),
            reason=Reason(reason) if reason else None,
            detail=str(f.get("detail") or ""),
            since_ms=int(f.get("since_ms", 0)),
            version=int(f.get("version", 0)),
            open_until_ms=int(f.get("open_until_ms", 0)),
            trips=int(f.get("trips", 0)),
            window=WindowFigures.from_fields(f),
            now_ms=int(f.get("now_ms", 0)),
            trial_successes=int(f.get("trial_successes", 0)),
            outage_since_ms=int(f.get("outage_since_ms", 0)),
        )
