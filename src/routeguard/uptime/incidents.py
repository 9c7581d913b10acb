"""Incidents: one per provider outage, from the outage intervals of its routes.

Intervals of one class on one provider's routes that overlap or touch are one
incident (two routes of a provider failing together is one outage, not two);
an interval still going on makes its incident ongoing (`end_ms` None).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from routeguard.status_view import iso_ms
from routeguard.uptime.timeline import Outage


@dataclass
class Incident:
    """One provider outage of one time class."""

    provider: str
    time_class: str
    start_ms: int
    end_ms: int | None  # None: ongoing
    routes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def absorb(self, route: str, outage: Outage) -> None:
        """Take in an interval that overlaps or touches this incident."""
        if self.end_ms is not None:
            self.end_ms = None if outage.end_ms is None else max(self.end_ms, outage.end_ms)
        for values, value in ((self.routes, route), (self.reasons, outage.reason)):
            if value and value not in values:
                values.append(value)

    def touches(self, outage: Outage) -> bool:
        return self.end_ms is None or outage.start_ms <= self.end_ms

    def as_record(self, now_ms: int) -> dict[str, object]:
        """The record of `GET /v1/incidents`."""
        end = now_ms if self.end_ms is None else self.end_ms
        return {
            "provider": self.provider,
            "started": iso_ms(self.start_ms),
            "ended": None if self.end_ms is None else iso_ms(self.end_ms),
            "duration_s": round(max(0, end - self.start_ms) / 1000, 3),
            "routes": list(self.routes),
            "reasons": list(self.reasons),
            "class": self.time_class,
        }


def merge_incidents(outages: Iterable[tuple[str, str, Outage]]) -> list[Incident]:
    """Incidents from (provider, route, outage) triples, newest first."""
    groups: dict[tuple[str, str], list[tuple[str, Outage]]] = {}
    for provider, route, outage in outages:
        groups.setdefault((provider, outage.time_class), []).append((route, outage))
    found: list[Incident] = []
    for (provider, time_class), members in groups.items():
        found.extend(_sweep(provider, time_class, members))
    return sorted(found, key=lambda i: (i.start_ms, i.provider), reverse=True)


def _sweep(provider: str, time_class: str, members: list[tuple[str, Outage]]) -> list[Incident]:
    out: list[Incident] = []
    for route, outage in sorted(members, key=lambda m: (m[1].start_ms, m[0])):
        if out and out[-1].touches(outage):
            out[-1].absorb(route, outage)
            continue
        incident = Incident(provider, time_class, outage.start_ms, outage.end_ms)
        incident.absorb(route, outage)
        out.append(incident)
    return out
