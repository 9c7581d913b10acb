"""Time accounting of one route: what its outage intervals say about a span of time.

Pure arithmetic on what the breaker scripts keep in Redis (lua/prelude.lua, account()):
the ended outage intervals of the route and the segment running now. A span is
counted from `tracked_since_ms` at the earliest (before that nothing is known),
and every millisecond in it is up, down, forced or auth_quota, never two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from routeguard.status_view import iso_ms

CLASSES = ("down", "forced", "auth_quota")
"""Time classes other than `up`: `down` counts against uptime, the others are excluded."""


@dataclass(frozen=True)
class Outage:
    """One stretch of time a route spent in one class other than up."""

    start_ms: int
    end_ms: int | None  # None: still going on
    time_class: str
    reason: str  # the reason that opened it

    @classmethod
    def parse(cls, member: str) -> Outage | None:
        """From a member of the outage set (`start:end:class:reason`); None if malformed."""
        parts = member.split(":", 3)
        if len(parts) != 4 or parts[2] not in CLASSES:
            return None
        try:
            return cls(int(parts[0]), int(parts[1]), parts[2], parts[3])
        except ValueError:
            return None

    def end_or(self, now_ms: int) -> int:
        return now_ms if self.end_ms is None else self.end_ms


@dataclass(frozen=True)
class Timeline:
    """What is known of one route's time: since when, and its outages (oldest first)."""

    tracked_since_ms: int = 0  # 0: no script has touched the route yet
    outages: tuple[Outage, ...] = ()

    @classmethod
    def from_redis(cls, state: Mapping[str, str], members: Iterable[str]) -> Timeline:
        """From the state hash's accounting fields and the outage set's members."""
        ended = [o for o in map(Outage.parse, members) if o is not None]
        running = _running(state)
        outages = sorted([*ended, *([running] if running else [])], key=lambda o: o.start_ms)
        return cls(_int(state.get("tracked_since_ms")), tuple(outages))


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _running(state: Mapping[str, str]) -> Outage | None:
    time_class = state.get("segment_class") or "up"
    if time_class not in CLASSES:
        return None
    reason = state.get("segment_reason") or ""
    return Outage(_int(state.get("segment_start_ms")), None, time_class, reason)


@dataclass(frozen=True)
class UptimeFigures:
    """Seconds of one span by class; `covers_s` is the part of the span that is known."""

    up_s: float = 0.0
    down_s: float = 0.0
    forced_s: float = 0.0
    auth_quota_s: float = 0.0
    covers_s: float = 0.0

    @property
    def ratio(self) -> float | None:
        """up / (up + down); None when nothing counted (unknown, or all excluded)."""
        counted = self.up_s + self.down_s
        return None if counted <= 0 else self.up_s / counted

    @property
    def excluded_s(self) -> float:
        return self.forced_s + self.auth_quota_s

    def as_window(self) -> dict[str, object]:
        """The contract's UptimeWindow."""
        return {
            "ratio": self.ratio,
            "up_s": round(self.up_s, 3),
            "down_s": round(self.down_s, 3),
            "excluded_s": {
                "forced": round(self.forced_s, 3),
                "auth_quota": round(self.auth_quota_s, 3),
            },
            "covers_s": round(self.covers_s, 3),
        }

    def as_bar(self, start_ms: int) -> dict[str, object]:
        """One bar of `GET /v1/uptime`."""
        return {
            "start": iso_ms(start_ms),
            "ratio": self.ratio,
            "down_s": round(self.down_s, 3),
            "excluded_s": round(self.excluded_s, 3),
            "covers_s": round(self.covers_s, 3),
        }


def figures(timeline: Timeline, start_ms: int, end_ms: int) -> UptimeFigures:
    """The route's time in [start_ms, end_ms), counted from when it was first tracked.

    Intervals are swept in start order and no millisecond is counted twice, so
    up + down + excluded == covers even if stored intervals overlapped.
    """
    if timeline.tracked_since_ms <= 0:
        return UptimeFigures()
    begin = max(start_ms, timeline.tracked_since_ms)
    if begin >= end_ms:
        return UptimeFigures()
    spent = dict.fromkeys(CLASSES, 0)
    cursor = begin
    for outage in timeline.outages:
        lo, hi = max(outage.start_ms, cursor), min(outage.end_or(end_ms), end_ms)
        if hi > lo:
            spent[outage.time_class] += hi - lo
            cursor = hi
    covers = end_ms - begin
    up = covers - sum(spent.values())
    return UptimeFigures(
        up_s=up / 1000,
        down_s=spent["down"] / 1000,
        forced_s=spent["forced"] / 1000,
        auth_quota_s=spent["auth_quota"] / 1000,
        covers_s=covers / 1000,
    )


def summed(routes: Sequence[UptimeFigures]) -> UptimeFigures:
    """A provider's figures from its routes': the seconds added up (route-seconds), and
    `covers_s` the widest route's, the wall time known (a sum would read "tracked for
    20 s" for two routes tracked for 10)."""
    return UptimeFigures(
        up_s=sum(f.up_s for f in routes),
        down_s=sum(f.down_s for f in routes),
        forced_s=sum(f.forced_s for f in routes),
        auth_quota_s=sum(f.auth_quota_s for f in routes),
        covers_s=max((f.covers_s for f in routes), default=0.0),
    )


def mean_ratio(routes: Sequence[UptimeFigures]) -> float | None:
    """A provider's ratio: the mean of its routes' ratios that are known.

    Not up/(up+down) of the sums: a route tracked for 30 days would outweigh one
    added yesterday, and every route of a provider is one of its products.
    """
    ratios = [r for r in (f.ratio for f in routes) if r is not None]
    return sum(ratios) / len(ratios) if ratios else None
