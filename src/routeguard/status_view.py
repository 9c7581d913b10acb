"""Renders breaker state for people and programs: the route record of `GET /v1/routes`
and the event record of `GET /v1/events` (docs/daemon.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from routeguard.breaker.types import RouteStatus, Transition
from routeguard.routes import model_of, provider_of


def iso_ms(epoch_ms: int) -> str | None:
    """`2026-11-24T10:00:03.120Z` for an epoch in ms; None for 0 (never / not set)."""
    if epoch_ms <= 0:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def route_record(status: RouteStatus) -> dict[str, Any]:
    """The JSON record of one route (`GET /v1/routes`, `routeguard status --json`)."""
    provider, model = provider_of(status.route), model_of(status.route)
    return {
        "route": status.route,
        "provider": provider,
        "model": model,
        "state": status.state.value,
        "reason": status.reason.value if status.reason else None,
        "detail": status.detail,
        "since": iso_ms(status.since_ms),
        "version": status.version,
        "open_until": iso_ms(status.open_until_ms),
        "trips": status.trips,
        "window": status.window.as_dict(),
        "outage_since": iso_ms(status.outage_since_ms),
    }


def event_record(event: Transition) -> dict[str, Any]:
    """The JSON record of one transition (`GET /v1/events`, `GET /v1/routes/watch`)."""
    return {
        "id": event.event_id,
        "route": event.route,
        "from": event.from_state.value,
        "to": event.to_state.value,
        "reason": event.reason.value,
        "detail": event.detail,
        "version": event.version,
        "at": iso_ms(event.at_ms),
        "open_until": iso_ms(event.open_until_ms),
        "window": event.window.as_dict(),
    }


_COLUMNS = ("ROUTE", "STATE", "REASON", "SINCE", "VER", "CALLS", "FAIL", "SLOW", "CONSEC")


def _age(status: RouteStatus) -> str:
    if status.since_ms <= 0:
        return "-"
    seconds = max(0, status.now_ms - status.since_ms) // 1000
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def status_table(statuses: Sequence[RouteStatus]) -> str:
    """A fixed-width table, one route a line, for `routeguard status`."""
    rows = [_COLUMNS]
    for s in statuses:
        w = s.window
        rows.append(
            (
                s.route,
                s.state.value,
                s.reason.value if s.reason else "-",
                _age(s),
                str(s.version),
                str(w.calls),
                str(w.failures),
                str(w.slow),
                str(w.consecutive_failures),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
