"""Time-based uptime, probe availability and TTFT per route and per provider, from Redis.

The breaker scripts keep each route's outage intervals (lua/prelude.lua, account());
the daemon's probes fill per-route buckets (ProbeBuckets). This package reads both
and builds the records of `GET /v1/routes`, `/v1/providers`, `/v1/uptime` and
`/v1/incidents`, which `routeguard status --json` and `routeguard providers` print too.
Modules: timeline (interval arithmetic), histogram (TTFT percentiles), buckets
(probe counts), incidents (merging), reader (Redis reads), records (the JSON).
"""

from __future__ import annotations

from typing import Any

from routeguard.breaker import BreakerStore
from routeguard.config import Catalog
from routeguard.uptime.buckets import ProbeBuckets
from routeguard.uptime.reader import Snapshot, read_snapshot
from routeguard.uptime.records import incidents_body, providers_body, routes_body, uptime_body
from routeguard.uptime.windows import SPANS, WINDOWS

INCIDENTS_LIMIT = 200


async def route_records(
    store: BreakerStore, catalog: Catalog, *, now_ms: int | None = None
) -> list[dict[str, Any]]:
    """The records of `GET /v1/routes` (`now_ms`: compute at this instant, for tests)."""
    return routes_body(catalog, await read_snapshot(store, now_ms=now_ms))


async def provider_records(
    store: BreakerStore, catalog: Catalog, *, now_ms: int | None = None
) -> list[dict[str, Any]]:
    """The records of `GET /v1/providers`."""
    return providers_body(catalog, await read_snapshot(store, now_ms=now_ms))


async def uptime_report(
    store: BreakerStore, catalog: Catalog, span: str = "24h", *, now_ms: int | None = None
) -> dict[str, Any]:
    """The answer of `GET /v1/uptime?span=` (span `24h` or `90d`; ValueError otherwise)."""
    if span not in SPANS:
        raise ValueError(f"span must be one of {', '.join(SPANS)}, not {span!r}")
    return uptime_body(catalog, await read_snapshot(store, now_ms=now_ms, buckets=False), span)


async def incident_report(
    store: BreakerStore, catalog: Catalog, limit: int = 20, *, now_ms: int | None = None
) -> dict[str, Any]:
    """The answer of `GET /v1/incidents?limit=` (1 to INCIDENTS_LIMIT; ValueError otherwise)."""
    if not 1 <= limit <= INCIDENTS_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {INCIDENTS_LIMIT}")
    snap = await read_snapshot(store, now_ms=now_ms, buckets=False)
    return incidents_body(catalog, snap, limit)


__all__ = [
    "INCIDENTS_LIMIT",
    "SPANS",
    "WINDOWS",
    "ProbeBuckets",
    "Snapshot",
    "incident_report",
    "provider_records",
    "read_snapshot",
    "route_records",
    "uptime_report",
]
