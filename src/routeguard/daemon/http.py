"""The daemon's HTTP interface (docs/daemon.md, HTTP interface) on aiohttp.web.

Read endpoints answer from Redis at request time, so every replica tells the
same story. The force and dismiss endpoints need the admin token (compared in
constant time), validate everything before they write, and never echo it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from routeguard import uptime
from routeguard.breaker import BreakerStore, ForceTarget
from routeguard.config import Catalog
from routeguard.daemon.candidates import (
    BadParameter,
    candidates_body,
    parse_preferences,
    rank_from_store,
    routes_of,
)
from routeguard.daemon.metrics import BreakerCollector, BreakerSnapshot
from routeguard.daemon.status_page import StatusPage
from routeguard.daemon.watch import WatchHub, serve
from routeguard.errors import RouteError, RouteguardError, StateError, StoreUnavailable
from routeguard.notify.dispatcher import Dispatcher
from routeguard.probes import ProbeMetrics
from routeguard.routes import parse_route_id
from routeguard.status_view import event_record, route_record

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
READ_DEADLINE_S = 1.5  # every request's Redis reads together; then 503
SCRAPE_DEADLINE_S = 1.0  # /metrics' Redis part; then the exposition without route gauges
SCRAPE_DEADLINE_PER_ROUTE_S = 0.0002
"""…plus this per route: reading 10,000 routes' states and counts takes 0.6 s of an idle
daemon, more of one probing them (the deadline is 3 s there, within Prometheus' 10 s)."""


def scrape_deadline_s(routes: int) -> float:
    return SCRAPE_DEADLINE_S + SCRAPE_DEADLINE_PER_ROUTE_S * routes


PING_DEADLINE_S = 1.0  # /readyz's PING
NOTIFIER_STALL_S = 15.0  # a transitions loop without a finished round this long is stuck
EVENTS_LIMIT = 1000
DELIVERIES_LIMIT = 1000


@dataclass
class HttpContext:
    """What the handlers read: passed in by the composition root."""

    catalog: Catalog
    store: BreakerStore
    redis: Redis
    registry: CollectorRegistry
    collector: BreakerCollector
    probe_metrics: ProbeMetrics
    admin_token: str | None
    scheduler_running: Callable[[], bool]
    scrape_store_up: Gauge
    notifier: Dispatcher | None = None  # None when the catalog configures no channel
    watch: WatchHub | None = None  # the shared transition reader of GET /v1/routes/watch
    scrape_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _errors_for(where: str) -> Middleware:
    @web.middleware
    async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Redis trouble is a 503 with one line within READ_DEADLINE_S; never a traceback."""
        try:
            return await handler(request)
        except StoreUnavailable as exc:
            return _error(503, str(exc))
        except (RedisError, OSError, TimeoutError) as exc:
            return _error(503, _store_failed(where, exc))

    return _errors


def _store_failed(where: str, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"Redis at {where} did not answer within {READ_DEADLINE_S:g} s"
    return f"Redis at {where} failed ({type(exc).__name__}); check that the server is running"


def build_app(ctx: HttpContext) -> web.Application:
    middlewares = [_errors_for(ctx.store.where)]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY_BYTES)
    app.router.add_get("/metrics", _metrics_handler(ctx))
    app.router.add_get("/healthz", _handler(ctx, healthz))
    app.router.add_get("/readyz", _handler(ctx, readyz))
    app.router.add_get("/v1/routes", _handler(ctx, routes))
    app.router.add_get("/v1/providers", _handler(ctx, providers))
    app.router.add_get("/v1/uptime", _handler(ctx, uptime_bars))
    app.router.add_get("/v1/incidents", _handler(ctx, incidents))
    app.router.add_get("/v1/events", _handler(ctx, events))
    app.router.add_get("/v1/models/{model:.+}/candidates", _handler(ctx, candidates))
    app.router.add_get("/v1/routes/watch", _watch_handler(ctx))
    app.router.add_post("/v1/routes/{tail:.+}", _handler(ctx, force))
    app.router.add_get("/v1/notifications", _handler(ctx, notifications))
    app.router.add_post("/v1/notifications/dismiss", _handler(ctx, dismiss))
    StatusPage.from_package().add_to(app)
    return app


def _handler(
    ctx: HttpContext, func: Callable[[HttpContext, web.Request], Awaitable[web.StreamResponse]]
) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        # Every Redis read is bounded: a hung Redis gets a 503, never a hung request.
        async with asyncio.timeout(READ_DEADLINE_S):
            return await func(ctx, request)

    return handle


def _metrics_handler(ctx: HttpContext) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        # Only the Redis part is bounded (scrape_deadline_s): writing the exposition of a
        # large catalog takes as long as it takes, in a thread, one scrape at a time.
        async with ctx.scrape_lock:
            return await metrics(ctx, request)

    return handle


def _watch_handler(ctx: HttpContext) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        # A stream for as long as the client stays: only its opening reads are bounded
        # (READ_DEADLINE_S, inside serve()), not the whole request.
        if ctx.watch is None:
            return _error(404, "the watch feed is not enabled on this daemon")
        return await serve(ctx.watch, ctx.store, request, READ_DEADLINE_S)

    return handle


async def metrics(ctx: HttpContext, request: web.Request) -> web.Response:
    """The exposition; without Redis the process metrics still answer, route gauges do not.

    It is written in a thread, so probes go on meanwhile; the families with a series per
    route write themselves (routeguard/series.py: 36 MB at 10,000 routes). `?name[]=…`
    (sample names, as prometheus_client's own handler takes them: `…_bucket` of a
    histogram) asks for those families only, without reading Redis: the breaker's
    families are read from Redis at scrape time and come with the whole exposition only.
    """
    wanted = frozenset(request.query.getall("name[]", []))
    if wanted:
        body = await asyncio.to_thread(_exposition, ctx, None, wanted)
    else:
        snapshot = await _read_breaker_families(ctx)
        body = await asyncio.to_thread(_exposition, ctx, snapshot, None)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _exposition(
    ctx: HttpContext, snapshot: BreakerSnapshot | None, wanted: frozenset[str] | None
) -> bytes:
    registry = ctx.registry if wanted is None else ctx.registry.restricted_registry(wanted)
    out = [generate_latest(registry).decode()]
    ctx.probe_metrics.write_text(out, wanted)
    if snapshot is not None:
        ctx.collector.write_text(out, snapshot)
    return "".join(out).encode()


async def _read_breaker_families(ctx: HttpContext) -> BreakerSnapshot:
    """The breaker's states and transition counts from Redis, within scrape_deadline_s;
    an empty snapshot without Redis (unknown, not a stale "closed")."""
    try:
        async with asyncio.timeout(scrape_deadline_s(len(ctx.catalog.routes))):
            _, statuses = await ctx.store.records()  # the state is all the gauges need
            counts = await ctx.store.transition_counts()
            if ctx.notifier is not None:
                await ctx.notifier.refresh_metrics()
    except (StoreUnavailable, RedisError, OSError, TimeoutError) as exc:
        ctx.scrape_store_up.set(0)
        log.debug("scrape without Redis: %s", exc)
        return BreakerSnapshot(read=False)
    ctx.scrape_store_up.set(1)
    return BreakerSnapshot(statuses, counts)


async def healthz(ctx: HttpContext, request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(ctx: HttpContext, request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(PING_DEADLINE_S):
            redis_ok = bool(await ctx.redis.ping())
    except (RedisError, OSError, TimeoutError):
        redis_ok = False
    checks = {
        "redis": redis_ok,
        "scheduler": ctx.scheduler_running(),
        "config": bool(ctx.catalog.routes),
    }
    if ctx.notifier is not None:
        checks["notifier"] = ctx.notifier.running and ctx.notifier.stalled_s() <= NOTIFIER_STALL_S
    ready = all(checks.values())
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def routes(ctx: HttpContext, request: web.Request) -> web.Response:
    return web.json_response({"routes": await uptime.route_records(ctx.store, ctx.catalog)})


async def providers(ctx: HttpContext, request: web.Request) -> web.Response:
    records = await uptime.provider_records(ctx.store, ctx.catalog)
    return web.json_response({"providers": records})


async def uptime_bars(ctx: HttpContext, request: web.Request) -> web.Response:
    """`?span=24h|90d`: hourly or daily uptime bars per provider and route."""
    unknown = set(request.query) - {"span"}
    span = request.query.get("span", "24h")
    if unknown or span not in uptime.SPANS or len(request.query.getall("span", [])) > 1:
        return _error(400, f"span must be one of {', '.join(uptime.SPANS)} (the only parameter)")
    return web.json_response(await uptime.uptime_report(ctx.store, ctx.catalog, span))


async def incidents(ctx: HttpContext, request: web.Request) -> web.Response:
    """`?limit=N`: provider outages, newest first."""
    most = uptime.INCIDENTS_LIMIT
    raw = request.query.get("limit", "20")
    if set(request.query) - {"limit"} or not raw.isdigit() or not 1 <= int(raw) <= most:
        return _error(400, f"limit must be a whole number from 1 to {most} (the only parameter)")
    return web.json_response(await uptime.incident_report(ctx.store, ctx.catalog, int(raw)))


async def events(ctx: HttpContext, request: web.Request) -> web.Response:
    since = request.query.get("since") or None
    try:
        limit = min(int(request.query.get("limit", "100")), EVENTS_LIMIT)
        found = await ctx.store.events(since=since, count=max(limit, 1))
    except (ValueError, StateError):
        return _error(400, "since must be an event id from a previous answer; limit a number")
    return web.json_response({"events": [event_record(e) for e in found]})


async def candidates(ctx: HttpContext, request: web.Request) -> web.Response:
    """The model's routes to try, ranked as `HealthClient.candidates()` ranks them."""
    model = request.match_info["model"]
    try:
        routes = routes_of(ctx.catalog, model)
    except RouteError as exc:
        return _error(404, str(exc))
    try:
        prefs = parse_preferences(ctx.catalog, request.query, [k for k, _ in request.query.items()])
    except BadParameter as exc:
        return _error(400, str(exc))
    statuses = await ctx.store.states()
    answer, view = rank_from_store(routes, statuses, prefs)
    return web.json_response(candidates_body(model, answer, view, statuses))


async def force(ctx: HttpContext, request: web.Request) -> web.Response:
    tail = request.match_info["tail"]
    if not tail.endswith("/force"):
        return _error(404, "not found: POST /v1/routes/{provider}/{model}/force")
    denied = _check_token(ctx, request)
    if denied is not None:
        return denied
    route_id = tail[: -len("/force")]
    try:
        parse_route_id(route_id)
        ctx.catalog.route(route_id)
        target, reason = _force_body(await request.read())
    except RouteError as exc:
        return _error(404, str(exc))
    except RouteguardError as exc:
        return _error(400, str(exc))
    status = await ctx.store.force(route_id, target, reason)
    log.info(
        "force over HTTP: %s -> %s (reason %r) from %s",
        route_id,
        target.value,
        reason,
        request.remote or "unknown address",
    )
    record = route_record(status)
    record["changed"] = bool(status.transitions)
    return web.json_response(record)


def _check_token(ctx: HttpContext, request: web.Request) -> web.Response | None:
    if not ctx.admin_token:
        return _error(403, "force is disabled: set ROUTEGUARD_ADMIN_TOKEN on the daemon")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return _error(401, "missing admin token: send Authorization: Bearer <token>")
    if not given.isascii():  # raw non-UTF-8 bytes arrive as surrogates: no .encode()
        return _error(400, "the Authorization header must be ASCII: Bearer <token>")
    if not hmac.compare_digest(given.encode(), ctx.admin_token.encode()):
        return _error(403, "wrong admin token")
    return None


def _force_body(raw: bytes) -> tuple[ForceTarget, str]:
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):  # RecursionError: [[[[… nested too deep to parse
        raise RouteguardError(
            'malformed JSON: send {"state": "open|closed|auto", "reason": "..."}'
        ) from None
    if not isinstance(body, dict) or set(body) - {"state", "reason"}:
        raise RouteguardError('the body must be {"state": "open|closed|auto", "reason": "..."}')
    state, reason = body.get("state"), body.get("reason", "")
    if not isinstance(reason, str):
        raise RouteguardError("reason must be a string")
    try:
        return ForceTarget(str(state)), reason or "forced over HTTP"
    except ValueError:
        raise RouteguardError(f"unknown state {state!r}: use open, closed or auto") from None


async def notifications(ctx: HttpContext, request: web.Request) -> web.Response:
    """Channels, open incidents, kept failures and the latest deliveries (no secrets)."""
    if ctx.notifier is None:
        empty: dict[str, Any] = {"channels": [], "incidents": [], "failed": [], "deliveries": []}
        return web.json_response({"enabled": False} | empty)
    try:
        limit = min(max(int(request.query.get("limit", "100")), 1), DELIVERIES_LIMIT)
    except ValueError:
        return _error(400, "limit must be a number")
    try:
        status = await ctx.notifier.status(limit)
    except RedisError:
        return _error(503, "Redis does not answer; the notification records are kept there")
    return web.json_response({"enabled": True} | status)


async def dismiss(ctx: HttpContext, request: web.Request) -> web.Response:
    """Forget one kept failure: body `{"delivery_id": "..."}`, admin token required."""
    denied = _check_token(ctx, request)
    if denied is not None:
        return denied
    if ctx.notifier is None:
        return _error(404, "notifications are not configured (no notify.channels)")
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, RecursionError):
        body = None
    delivery_id = body.get("delivery_id") if isinstance(body, dict) else None
    if not isinstance(delivery_id, str) or not delivery_id:
        return _error(400, 'the body must be {"delivery_id": "<id from GET /v1/notifications>"}')
    if not await ctx.notifier.dismiss_failed(delivery_id):
        return _error(404, "no failed delivery has that id")
    return web.json_response({"dismissed": delivery_id})
