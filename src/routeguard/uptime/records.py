"""The records of `GET /v1/routes`, `/v1/providers`, `/v1/uptime` and `/v1/incidents`
(docs/daemon.md), built from one Snapshot so the CLI prints what the API answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from routeguard.config import Catalog, Route
from routeguard.probes import ProbeJob
from routeguard.status_view import route_record
from routeguard.tiers import ProbeTier
from routeguard.uptime.buckets import ProbeFigures
from routeguard.uptime.incidents import merge_incidents
from routeguard.uptime.reader import RouteFacts, Snapshot
from routeguard.uptime.timeline import UptimeFigures, figures, mean_ratio, summed
from routeguard.uptime.windows import SPANS, WINDOW_S, WINDOWS, bar_starts


def route_uptime(facts: RouteFacts, now_ms: int) -> dict[str, UptimeFigures]:
    """The route's time figures per window, ending now."""
    return {w: figures(facts.timeline, now_ms - WINDOW_S[w] * 1000, now_ms) for w in WINDOWS}


def routes_body(catalog: Catalog, snap: Snapshot) -> list[dict[str, Any]]:
    """Every route's record (`GET /v1/routes`), catalog order."""
    models = _models_of(catalog)
    out = []
    for route_id, facts in snap.routes.items():
        route = catalog.routes[route_id]
        record = route_record(facts.status)
        probes = _last_probes(snap.last_probes, route)
        record["models"] = models.get(route_id, [])
        record["last_probe"] = max(probes.values(), key=lambda p: p["at"]) if probes else None
        record["last_probes"] = probes
        uptime = route_uptime(facts, snap.now_ms)
        record["uptime"] = {w: f.as_window() for w, f in uptime.items()}
        record["probes"] = {w: f.as_window() for w, f in facts.probes.items()}
        out.append(record)
    return out


def _models_of(catalog: Catalog) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for model, route_ids in catalog.models.items():
        for route_id in route_ids:
            found.setdefault(route_id, []).append(model)
    return found


def _last_probes(last: dict[str, dict[str, Any]], route: Route) -> dict[str, dict[str, Any]]:
    """Tier -> the last probe that speaks of the route: its own tiers and its provider's."""
    jobs = [ProbeJob(route.id, t) for t in ProbeTier if t.per_route]
    jobs.append(ProbeJob.liveness(route.provider))
    return {job.tier.value: last[job.key] for job in jobs if last.get(job.key, {}).get("at")}


def providers_body(catalog: Catalog, snap: Snapshot) -> list[dict[str, Any]]:
    """Every provider's record (`GET /v1/providers`), catalog order."""
    out = []
    for name in catalog.providers:
        ids = _route_ids(catalog, snap, name)
        facts = [snap.routes[r] for r in ids]
        out.append(
            {
                "provider": name,
                "routes": {r: snap.routes[r].status.state.value for r in ids},
                "up": sum(f.status.state.admits_traffic for f in facts),
                "objective": _loosest([catalog.routes[r] for r in ids]),
                "uptime": _provider_uptime(facts, snap.now_ms),
                "probes": _provider_probes(facts),
            }
        )
    return out


def _loosest(routes: Sequence[Route]) -> dict[str, float] | None:
    """The loosest objective of the routes (docs/slo.md): never catalog order."""
    if not routes:
        return None
    return {
        "availability": min(r.slo.availability for r in routes),
        "ttft_p95_s": max(r.slo.ttft_p95_s for r in routes),
    }


def _provider_uptime(facts: Sequence[RouteFacts], now_ms: int) -> dict[str, Any]:
    per_route = [route_uptime(f, now_ms) for f in facts]
    out = {}
    for w in WINDOWS:
        windows = [r[w] for r in per_route]
        out[w] = summed(windows).as_window() | {"ratio": mean_ratio(windows)}
    return out


def _provider_probes(facts: Sequence[RouteFacts]) -> dict[str, Any]:
    merged = {w: ProbeFigures() for w in WINDOWS}
    for f in facts:
        for w, counted in f.probes.items():
            merged[w].merge(counted)
    return {w: m.as_window() for w, m in merged.items()}


def uptime_body(catalog: Catalog, snap: Snapshot, span: str) -> dict[str, Any]:
    """`GET /v1/uptime?span=`: UTC-aligned bars per provider and per route, oldest first."""
    starts = bar_starts(span, snap.now_ms)
    bar_ms = SPANS[span][0] * 1000
    providers = [
        _provider_bars(name, _route_ids(catalog, snap, name), snap, starts, bar_ms)
        for name in catalog.providers
    ]
    return {"span": span, "bar_s": SPANS[span][0], "providers": providers}


def _route_ids(catalog: Catalog, snap: Snapshot, provider: str) -> list[str]:
    return [r for r in snap.routes if catalog.routes[r].provider == provider]


def _provider_bars(
    name: str, ids: list[str], snap: Snapshot, starts: list[int], bar_ms: int
) -> dict[str, Any]:
    now = snap.now_ms
    per_route = {
        r: [figures(snap.routes[r].timeline, s, min(s + bar_ms, now)) for s in starts] for r in ids
    }
    bars = []
    for i, start in enumerate(starts):
        column = [figs[i] for figs in per_route.values()]
        bars.append(summed(column).as_bar(start) | {"ratio": mean_ratio(column)})
    routes = [
        {"route": r, "bars": [f.as_bar(s) for s, f in zip(starts, figs, strict=True)]}
        for r, figs in per_route.items()
    ]
    return {"provider": name, "bars": bars, "routes": routes}


def incidents_body(catalog: Catalog, snap: Snapshot, limit: int) -> dict[str, Any]:
    """`GET /v1/incidents?limit=`: newest first, one per provider outage."""
    triples = (
        (catalog.routes[r].provider, r, outage)
        for r, facts in snap.routes.items()
        for outage in facts.timeline.outages
    )
    found = merge_incidents(triples)[:limit]
    return {"incidents": [i.as_record(snap.now_ms) for i in found]}
