"""The breaker rules in pure Python: the same state machine as the Lua scripts.

Used by property tests (Lua and model must agree on every sequence) and by
workers as their fail-static local breaker. Time is always passed in (`now_ms`),
never read here; arithmetic mirrors Lua's doubles (float division, then floor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from routeguard.breaker.types import (
    JITTER_SCALE,
    MAX_TRIPS,
    BreakerParams,
    BreakerState,
    ForceTarget,
    OutcomeBatch,
    Reason,
    RouteStatus,
    Transition,
    WindowFigures,
)

_UNTIMED_OPEN = (Reason.AUTH_ERROR, Reason.QUOTA_EXHAUSTED)
_CONTINUING = (Reason.OPEN_EXPIRED.value, Reason.TRIAL_FAILED.value)
OUTAGE_KEEP_MS = 91 * 86_400_000
"""Outage intervals that ended longer ago than this are dropped (lua/prelude.lua)."""
OUTAGE_CAP = 2000
"""At most this many outage intervals are kept per route (lua/prelude.lua)."""


@dataclass
class RouteRecord:
    """The fields of a route's state hash, by the hash's own names (lua/prelude.lua FIELDS)."""

    state: BreakerState = BreakerState.CLOSED
    reason: str = ""
    detail: str = ""
    since_ms: int = 0
    version: int = 0
    open_until_ms: int = 0
    trips: int = 0
    decay_from_ms: int = 0
    consecutive_failures: int = 0
    trial_successes: int = 0
    rate_open_ms: int = 0  # the last rate-limited open time of the current run of them
    outage_since_ms: int = 0  # when the route last stopped admitting traffic; 0 while it does
    tracked_since_ms: int = 0  # since when its time is accounted (first script to touch it)
    segment_class: str = "up"  # the class of the running segment: up, down, forced, auth_quota
    segment_start_ms: int = 0  # when the running segment began
    segment_reason: str = ""  # the reason that opened the running segment ('' when up)


def class_of(to: str, reason: str, current: str) -> str:
    """The time class of a state entered for `reason` while in a segment of class `current`."""
    if BreakerState(to).admits_traffic:
        return "up"
    if to == BreakerState.FORCED_OPEN:
        return "forced"
    if reason in _UNTIMED_OPEN:
        return "auth_quota"
    # A half-open spell or a failed trial goes on with the outage it belongs to.
    if reason in _CONTINUING and current in ("down", "auth_quota"):
        return current
    return "down"


def outage_member(start_ms: int, end_ms: int, time_class: str, reason: str) -> str:
    """An outage interval as the scripts store it: `start_ms:end_ms:class:reason`."""
    return f"{start_ms}:{end_ms}:{time_class}:{reason}"


def bucket_of(now_ms: int, bucket_ms: int) -> int:
    """The window bucket that `now_ms` falls in (as Lua computes it)."""
    return math.floor(now_ms / bucket_ms)


def sum_window(
    fields: dict[str, int], now_ms: int, p: BreakerParams
) -> tuple[WindowFigures, list[str]]:
    """Sum the live buckets of a window hash; also return the stale field names."""
    current = bucket_of(now_ms, p.bucket_ms)
    totals = {"c": 0, "f": 0, "s": 0}
    stale: list[str] = []
    for name, count in fields.items():
        if int(name[1:]) <= current - p.buckets:
            stale.append(name)
        else:
            totals[name[0]] += count
    return WindowFigures(calls=totals["c"], failures=totals["f"], slow=totals["s"]), stale


def open_duration_ms(trips: int, jitter: int, p: BreakerParams) -> int:
    """min(open_s * 2^(trips-1), open_max_s), plus up to 10 % jitter."""
    d: int = min(p.open_ms * 2 ** (trips - 1), p.open_max_ms)
    return d + math.floor(d * jitter / JITTER_SCALE)


@dataclass
class RouteBreaker:
    """One route's breaker: state record, window buckets and trial leases."""

    route: str
    params: BreakerParams
    record: RouteRecord = field(default_factory=RouteRecord)
    window: dict[str, int] = field(default_factory=dict)
    leases: dict[str, int] = field(default_factory=dict)  # token -> expiry (ms)
    outages: dict[str, int] = field(default_factory=dict)  # member -> score (end ms)
    _events: list[Transition] = field(default_factory=list)
    _now: int = 0
    _figures: WindowFigures = field(default_factory=WindowFigures)

    # -- operations (each mirrors one Lua script) -------------------------------

    def apply(
        self, batch: OutcomeBatch, now_ms: int, jitter: int = 0, trial_token: str = ""
    ) -> list[Transition]:
        """Record a batch of outcomes (record.lua)."""
        self._begin(now_ms)
        self._add_to_window(batch)
        r = self.record
        if batch.ok > 0:
            r.consecutive_failures = batch.trailing_failures
        else:
            r.consecutive_failures += batch.failures
        if r.state == BreakerState.CLOSED:
            self._decide_closed(batch, jitter)
        elif r.state == BreakerState.HALF_OPEN:
            self._decide_half_open(batch, jitter)
        elif r.state == BreakerState.OPEN:
            self._decide_open(batch)
        if trial_token:
            self.leases.pop(trial_token, None)
        return self._finish()

    def acquire_trial(self, token: str, now_ms: int) -> tuple[bool, list[Transition]]:
        """Try to take a half-open trial lease (acquire.lua)."""
        self._begin(now_ms)
        self._figures = self._read_window()
        granted = False
        if self.record.state == BreakerState.HALF_OPEN:
            self.leases = {t: exp for t, exp in self.leases.items() if exp > now_ms}
            if len(self.leases) < self.params.half_open_trials:
                self.leases[token] = now_ms + self.params.trial_lease_ms
                granted = True
        return granted, self._finish()

    def force(self, target: ForceTarget, detail: str, now_ms: int) -> list[Transition]:
        """Apply an operator override (force.lua)."""
        self._begin(now_ms)
        self._figures = self._read_window()
        r = self.record
        if target == ForceTarget.AUTO:
            if r.state in (BreakerState.FORCED_OPEN, BreakerState.FORCED_CLOSED):
                self._close(Reason.RELEASED, detail)
        else:
            to = (
                BreakerState.FORCED_OPEN
                if target == ForceTarget.OPEN
                else BreakerState.FORCED_CLOSED
            )
            if r.state != to:
                r.open_until_ms = 0
                r.trial_successes = 0
                self._transition(to, Reason.FORCED, detail)
        return self._finish()

    def status(self, now_ms: int) -> RouteStatus:
        """The route as a read at `now_ms` sees it (no state change)."""
        r = self.record
        figures, _ = sum_window(self.window, now_ms, self.params)
        return RouteStatus(
            route=self.route,
            state=r.state,
            reason=Reason(r.reason) if r.reason else None,
            detail=r.detail,
            since_ms=r.since_ms,
            version=r.version,
            open_until_ms=r.open_until_ms,
            trips=r.trips,
            window=replace(figures, consecutive_failures=r.consecutive_failures),
            now_ms=now_ms,
            trial_successes=r.trial_successes,
            outage_since_ms=r.outage_since_ms,
        )

    # -- shared steps -----------------------------------------------------------

    def _begin(self, now_ms: int) -> None:
        self._now = now_ms
        self._events = []
        self._start_tracking()
        r = self.record
        if r.state == BreakerState.OPEN and 0 < r.open_until_ms <= now_ms:
            r.open_until_ms = 0
            r.trial_successes = 0
            self._figures = self._read_window()
            self._transition(BreakerState.HALF_OPEN, Reason.OPEN_EXPIRED, "open time ended")
        if r.state == BreakerState.CLOSED and r.trips > 0:
            steps = math.floor((now_ms - r.decay_from_ms) / self.params.trip_decay_ms)
            if steps > 0:
                r.trips = max(0, r.trips - steps)
                r.decay_from_ms += steps * self.params.trip_decay_ms

    def _start_tracking(self) -> None:
        """The first operation on a route starts its accounting (the prelude's load)."""
        r = self.record
        if r.tracked_since_ms != 0:
            return
        r.tracked_since_ms = self._now
        if not r.state.admits_traffic:
            r.segment_class = class_of(r.state, r.reason, "down")
            r.segment_start_ms, r.segment_reason = self._now, r.reason
            if r.outage_since_ms == 0:
                r.outage_since_ms = r.since_ms if r.since_ms > 0 else self._now

    def _account(self, to: BreakerState, reason: Reason) -> None:
        """Close the running time segment when the class changes (the prelude's account)."""
        r = self.record
        if to.admits_traffic:
            r.outage_since_ms = 0
        elif r.state.admits_traffic:
            r.outage_since_ms = self._now
        new_class = class_of(to, reason.value, r.segment_class)
        if new_class == r.segment_class:
            return
        if r.segment_class != "up" and self._now > r.segment_start_ms:
            member = outage_member(r.segment_start_ms, self._now, r.segment_class, r.segment_reason)
            self.outages[member] = self._now
            self._trim_outages()
        r.segment_class, r.segment_start_ms = new_class, self._now
        r.segment_reason = "" if new_class == "up" else reason.value

    def _trim_outages(self) -> None:
        kept = sorted(self.outages.items(), key=lambda item: (item[1], item[0]))
        kept = [(m, end) for m, end in kept if end > self._now - OUTAGE_KEEP_MS]
        if len(kept) > OUTAGE_CAP:
            kept = kept[len(kept) - OUTAGE_CAP :]
            oldest = int(kept[0][0].split(":", 1)[0])
            self.record.tracked_since_ms = max(self.record.tracked_since_ms, oldest)
        self.outages = dict(kept)

    def _finish(self) -> list[Transition]:
        if self.record.state != BreakerState.HALF_OPEN:
            self.leases = {}
        return self._events

    def _read_window(self) -> WindowFigures:
        figures, stale = sum_window(self.window, self._now, self.params)
        for name in stale:
            del self.window[name]
        return figures

    def _add_to_window(self, batch: OutcomeBatch) -> None:
        if batch.calls > 0:
            current = bucket_of(self._now, self.params.bucket_ms)
            for kind, n in (("c", batch.calls), ("f", batch.failures), ("s", batch.slow)):
                if n > 0:
                    self.window[f"{kind}{current}"] = self.window.get(f"{kind}{current}", 0) + n
        self._figures = self._read_window()

    def _transition(self, to: BreakerState, reason: Reason, detail: str) -> None:
        self._account(to, reason)
        r = self.record
        from_state = r.state
        r.state, r.reason, r.detail = to, reason.value, detail
        r.since_ms = self._now
        r.version += 1
        w = self._figures
        self._events.append(
            Transition(
                route=self.route,
                from_state=from_state,
                to_state=to,
                reason=reason,
                detail=detail,
                version=r.version,
                at_ms=self._now,
                open_until_ms=r.open_until_ms,
                trips=r.trips,
                window=WindowFigures(w.calls, w.failures, w.slow, r.consecutive_failures),
            )
        )

    def _open(
        self, reason: Reason, detail: str, until: str, jitter: int, retry_ms: int = 0
    ) -> None:
        """Open the route; `until` is 'backoff' (a trip), 'again' (a failed trial),
        'retry' (Retry-After) or 'none'."""
        r = self.record
        if until in ("backoff", "again"):
            # A trip (closed -> open) counts; a failed trial reopens for the same time.
            if until == "backoff":
                r.trips = min(r.trips + 1, MAX_TRIPS)
            r.open_until_ms = self._now + open_duration_ms(max(r.trips, 1), jitter, self.params)
        elif until == "retry":
            r.open_until_ms = self._now + retry_ms
        else:
            r.open_until_ms = 0
        r.trial_successes = 0
        self._transition(BreakerState.OPEN, reason, detail)
        r.consecutive_failures = 0  # after the event, which shows the run that tripped it

    def _close(self, reason: Reason, detail: str) -> None:
        r = self.record
        r.open_until_ms = 0
        r.rate_open_ms = 0
        r.consecutive_failures = 0
        r.trial_successes = 0
        r.decay_from_ms = self._now
        self._transition(BreakerState.CLOSED, reason, detail)
        self.window = {}
        self._figures = WindowFigures()

    def _hinted_ms(self, batch: OutcomeBatch) -> int:
        """What the provider asked for (open_s when it gave nothing), at most open_max_s."""
        p = self.params
        wanted = p.open_ms if batch.retry_after_ms is None else batch.retry_after_ms
        return min(wanted, p.open_max_ms)

    def _open_rate_limited(self, batch: OutcomeBatch) -> None:
        """At least rate_limit_open_min_s, and each open in a row at least twice the last."""
        r, p = self.record, self.params
        floor = 2 * r.rate_open_ms if r.rate_open_ms > 0 else p.rate_limit_open_min_ms
        retry = min(max(self._hinted_ms(batch), floor), p.open_max_ms)
        self._open(Reason.RATE_LIMITED, f"retry after {retry} ms", "retry", 0, retry)
        r.rate_open_ms = retry

    # -- decisions per state ----------------------------------------------------

    def _decide_unusable(self, batch: OutcomeBatch) -> bool:
        if batch.auth_errors > 0:
            self._open(Reason.AUTH_ERROR, "credentials rejected", "none", 0)
        elif batch.quota_errors > 0:
            self._open(Reason.QUOTA_EXHAUSTED, "quota or credit exhausted", "none", 0)
        else:
            return False
        return True

    def _decide_closed(self, batch: OutcomeBatch, jitter: int) -> None:
        r, p, w = self.record, self.params, self._figures
        if self._decide_unusable(batch):
            return
        if r.consecutive_failures >= p.consecutive_failures:
            detail = f"{r.consecutive_failures} consecutive failures, last {batch.last_failure}"
            self._open(Reason.CONSECUTIVE_FAILURES, detail, "backoff", jitter)
        elif w.calls >= p.min_calls and w.failures / w.calls >= p.failure_rate:
            detail = f"{w.failures} of {w.calls} calls failed in the window"
            self._open(Reason.FAILURE_RATE, detail, "backoff", jitter)
        elif w.calls >= p.min_calls and w.slow / w.calls >= p.slow_rate:
            detail = f"{w.slow} of {w.calls} calls slow in the window"
            self._open(Reason.SLOW_RATE, detail, "backoff", jitter)
        elif batch.rate_limited > 0:
            self._open_rate_limited(batch)

    def _decide_half_open(self, batch: OutcomeBatch, jitter: int) -> None:
        r = self.record
        if self._decide_unusable(batch):
            return
        if batch.failures > 0:
            self._open(Reason.TRIAL_FAILED, f"trial failed: {batch.last_failure}", "again", jitter)
        elif batch.rate_limited > 0:
            self._open_rate_limited(batch)
        elif batch.ok > 0:
            r.trial_successes += batch.ok
            if r.trial_successes >= self.params.half_open_successes:
                self._close(Reason.TRIAL_SUCCEEDED, f"{r.trial_successes} trial successes")

    def _decide_open(self, batch: OutcomeBatch) -> None:
        r = self.record
        if r.reason in _UNTIMED_OPEN:
            if batch.ok > 0 and batch.auth_errors == 0 and batch.quota_errors == 0:
                self._close(Reason.TRIAL_SUCCEEDED, "a call succeeded")
        elif batch.rate_limited > 0 and r.open_until_ms > 0:
            deadline = self._now + self._hinted_ms(batch)
            if deadline > r.open_until_ms:
                # A later Retry-After extends the deadline, never shortens it.
                r.open_until_ms = deadline
                self._transition(
                    BreakerState.OPEN, Reason.RATE_LIMITED, f"retry after {deadline - self._now} ms"
                )
