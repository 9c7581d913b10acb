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
    seconds, ms = divmod(epoch_ms, 1000)
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)
    return f"{moment.isoformat()}.{ms:03d}Z"  # isoformat: a fifth of strftime's cost


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


_ROUTE_COLUMNS = (
    "ROUTE", "STATE", "REASON", "SINCE", "OUTAGE", "OPEN UNTIL", "MODELS",
    "CALLS", "FAIL", "SLOW", "CONSEC",
)  # fmt: skip
_PROVIDER_COLUMNS = (
    "PROVIDER", "UP", "OBJECTIVE", "UPTIME 1H", "UPTIME 1D", "UPTIME 30D",
    "PROBES OK 1D", "TTFT P50/P95 1H",
)  # fmt: skip
REASON_WIDTH = 48
WINDOW_LENGTH_S = {"1h": 3600, "1d": 86_400, "30d": 30 * 86_400}


def duration(seconds: float) -> str:
    """`45s`, `12m05s`, `3h05m`, `2d04h`: short, and exact enough for an outage."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86_400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86_400}d{s % 86_400 // 3600:02d}h"


def _seconds_since(iso: str | None, now_s: float) -> float | None:
    return None if iso is None else now_s - datetime.fromisoformat(iso).timestamp()


def _reason(record: dict[str, Any]) -> str:
    """The reason code; an operator's own words after it for a forced route."""
    reason = record["reason"] or "-"
    if record["state"].startswith("forced_") and record["detail"]:
        reason = f"{reason}: {record['detail']}"
    return reason if len(reason) <= REASON_WIDTH else reason[: REASON_WIDTH - 1] + "…"


def _route_row(record: dict[str, Any], now_s: float) -> tuple[str, ...]:
    since = _seconds_since(record["since"], now_s)
    outage = _seconds_since(record.get("outage_since"), now_s)
    until = _seconds_since(record["open_until"], now_s)
    window = record["window"]
    return (
        record["route"],
        record["state"],
        _reason(record),
        "-" if since is None else duration(since) + " ago",
        "-" if outage is None else duration(outage),
        "-" if until is None or until > 0 else "in " + duration(-until),
        ",".join(record.get("models", [])) or "-",
        str(window["calls"]),
        str(window["failures"]),
        str(window["slow"]),
        str(window["consecutive_failures"]),
    )


def status_table(records: Sequence[dict[str, Any]], now_s: float) -> str:
    """`routeguard status`: one route a line, from `GET /v1/routes` records."""
    return _table(_ROUTE_COLUMNS, [_route_row(r, now_s) for r in records])


def _percent(window: dict[str, Any] | None, key: str, length_s: float | None = None) -> str:
    """`99.95%`, with the time it covers when that is less than the window; `-` for none."""
    if not window or window.get(key) is None:
        return "-"
    text = f"{window[key] * 100:.2f}%"
    covers = window.get("covers_s") or 0.0
    if length_s is not None and covers < length_s * 0.99:
        text += f" ({duration(covers)})"
    return text


def _ttft(window: dict[str, Any] | None) -> str:
    if not window or window.get("ttft_p50_s") is None:
        return "-"
    return f"{window['ttft_p50_s'] * 1000:.0f}/{window['ttft_p95_s'] * 1000:.0f} ms"


def _objective(record: dict[str, Any]) -> str:
    objective = record.get("objective")
    if not objective:
        return "-"
    return f"{objective['availability'] * 100:g}% / {objective['ttft_p95_s']:g}s"


def providers_table(records: Sequence[dict[str, Any]]) -> str:
    """`routeguard providers`: each provider's own SLA, from `GET /v1/providers` records."""
    rows = []
    for r in records:
        uptime, probes = r.get("uptime", {}), r.get("probes", {})
        rows.append(
            (
                r["provider"],
                f"{r['up']}/{len(r['routes'])}",
                _objective(r),
                *(
                    _percent(uptime.get(w), "ratio", WINDOW_LENGTH_S[w])
                    for w in ("1h", "1d", "30d")
                ),
                _percent(probes.get("1d"), "availability", WINDOW_LENGTH_S["1d"]),
                _ttft(probes.get("1h")),
            )
        )
    return _table(_PROVIDER_COLUMNS, rows)


def _table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Fixed-width columns, two spaces apart."""
    lines = [columns, *rows]
    widths = [max(len(row[i]) for row in lines) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in lines
    )
