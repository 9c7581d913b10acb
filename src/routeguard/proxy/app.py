"""`routeguard proxy`'s HTTP interface: OpenAI's chat.completions in front of every route.

`POST /v1/chat/completions` (streamed or not) tries the routes of the requested
model (and its `models` fallbacks) in the order the fleet's breaker view gives,
fails over only before the first byte reached the caller, and says in headers
(and a `routeguard` field) which route served, every attempt, and why skipped
routes were skipped. `GET /v1/models`, `/healthz`, `/readyz`, `/metrics`.
docs/proxy.md is the user's guide.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from routeguard.client import HealthClient
from routeguard.client.chat import ChatRoute
from routeguard.outcomes import WORTH_ANOTHER_ROUTE, Outcome
from routeguard.proxy.caller import CallerStream
from routeguard.proxy.errors import ProxyError
from routeguard.proxy.forward import Attempted, Forwarder
from routeguard.proxy.plan import Plan, Target, plan_for
from routeguard.proxy.request import ChatCall, read_chat_call
from routeguard.routes import model_of, provider_of

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024
"""A chat body this large is refused (long contexts fit; a runaway client does not)."""
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
READY_STALENESS_S = 10.0
"""The view must have been confirmed current this recently for /readyz."""


@dataclass
class ProxyContext:
    """What the handlers use: built by the composition root (`run.py`)."""

    health: HealthClient
    forwarder: Forwarder
    registry: CollectorRegistry
    api_keys: Sequence[str]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(ctx: ProxyContext) -> web.Application:
    app = web.Application(
        middlewares=[_answers_errors, _caller_key(ctx.api_keys)], client_max_size=MAX_BODY_BYTES
    )
    app.router.add_post("/v1/chat/completions", _with(ctx, chat_completions))
    app.router.add_get("/v1/models", _with(ctx, models))
    app.router.add_get("/healthz", _with(ctx, healthz))
    app.router.add_get("/readyz", _with(ctx, readyz))
    app.router.add_get("/metrics", _with(ctx, metrics))
    return app


def _with(
    ctx: ProxyContext, func: Callable[[ProxyContext, web.Request], Awaitable[web.StreamResponse]]
) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await func(ctx, request)

    return handle


@web.middleware
async def _answers_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProxyError as exc:
        return exc.response()
    except web.HTTPRequestEntityTooLarge:
        return ProxyError(413, f"the body is larger than {MAX_BODY_BYTES} bytes").response()
    except web.HTTPException as exc:  # 404 and 405 of the router, in OpenAI's shape
        return ProxyError(exc.status, exc.reason, code=str(exc.status)).response()


def _caller_key(keys: Sequence[str]) -> Middleware:
    wanted = [key.encode() for key in keys]

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        if not wanted:
            if not is_loopback(request.remote):
                raise ProxyError(403, "this proxy has no API keys and serves loopback only")
            return await handler(request)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        presented = given.strip().encode("utf-8", "surrogateescape")
        # Every key is compared, in constant time: no early exit tells which was close.
        matches = [hmac.compare_digest(presented, key) for key in wanted]
        if scheme.lower() != "bearer" or not any(matches):
            raise ProxyError(
                401,
                "invalid API key: send Authorization: Bearer <one of ROUTEGUARD_PROXY_API_KEYS>",
                code="invalid_api_key",
            )
        return await handler(request)

    return check


def is_loopback(address: str | None) -> bool:
    """True for a loopback IP (an IPv6 zone is ignored) or `localhost`."""
    if address == "localhost":
        return True
    try:
        return address is not None and ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


async def healthz(ctx: ProxyContext, request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def readyz(ctx: ProxyContext, request: web.Request) -> web.Response:
    """Ready once the breaker view is current (it keeps routing on a stale one, fail static)."""
    staleness = ctx.health.staleness_s()
    fresh = staleness <= READY_STALENESS_S
    checks = {"view": fresh, "redis": not ctx.health.degraded}
    body = {
        "ready": fresh,
        "checks": checks,
        "view_staleness_s": None if math.isinf(staleness) else round(staleness, 3),
    }
    return web.json_response(body, status=200 if fresh else 503)


async def metrics(ctx: ProxyContext, request: web.Request) -> web.Response:
    body = generate_latest(ctx.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def models(ctx: ProxyContext, request: web.Request) -> web.Response:
    data = [
        {"id": name, "object": "model", "created": 0, "owned_by": "routeguard"}
        for name in ctx.health.catalog.models
    ]
    return web.json_response({"object": "list", "data": data})


async def chat_completions(ctx: ProxyContext, request: web.Request) -> web.StreamResponse:
    call = read_chat_call(await request.read(), ctx.health.catalog.models)
    plan = plan_for(ctx.health, call)
    if not plan.targets:
        raise ProxyError(
            503,
            "no route may serve this request under its provider preferences",
            type="routing_error",
            code="no_route",
            extra=_routeguard_field(None, [], plan),
        )
    return await _Exchange(ctx, call, plan, request).run()


class _Exchange:
    """One caller's request, attempt after attempt."""

    def __init__(self, ctx: ProxyContext, call: ChatCall, plan: Plan, request: web.Request) -> None:
        self._ctx = ctx
        self._call = call
        self._plan = plan
        self._attempts: list[Attempted] = []
        self._current: str | None = None
        self._caller = CallerStream(request, lambda: _headers(self._current, self._attempts, plan))

    async def run(self) -> web.StreamResponse:
        try:
            return await self._try_in_turn()
        except ConnectionResetError:  # the caller left mid-stream: nobody's failure to report
            log.debug("caller left while %s was answering", self._current)
            return self._caller.response or web.Response(status=499)

    async def _try_in_turn(self) -> web.StreamResponse:
        for target in self._plan.targets:
            attempted = await self._attempt(target)
            if attempted.streamed is not None:
                return attempted.streamed
            if attempted.completion is not None:
                return self._completion(attempted)
            if attempted.outcome not in WORTH_ANOTHER_ROUTE:
                break
            self._count_failover(target)
        raise _all_failed(self._attempts, self._plan)

    async def _attempt(self, target: Target) -> Attempted:
        self._current = target.route
        chat_route = ChatRoute.of(self._ctx.health.catalog, target.route)
        forwarder, call, model = self._ctx.forwarder, self._call, target.public_model
        if call.stream:
            attempted = await forwarder.streamed(chat_route, call, model, self._caller)
        else:
            attempted = await forwarder.whole(chat_route, call, model)
        self._attempts.append(attempted)
        c = attempted.classified
        self._ctx.health.report(
            target.route,
            c.outcome,
            latency_s=attempted.latency_s,
            ttft_s=attempted.ttft_s,
            retry_after_s=c.retry_after_s,
        )
        return attempted

    def _completion(self, attempted: Attempted) -> web.Response:
        body = dict(attempted.completion or {})
        body["routeguard"] = _routeguard_field(attempted.route, self._attempts, self._plan)
        headers = _headers(attempted.route, self._attempts, self._plan)
        return web.json_response(body, headers=headers)

    def _count_failover(self, target: Target) -> None:
        metrics = self._ctx.health.metrics
        if metrics is not None:
            provider, model = provider_of(target.route), model_of(target.route)
            metrics.failovers.labels(provider, model, target.public_model).inc()


def _headers(route: str | None, attempts: list[Attempted], plan: Plan) -> dict[str, str]:
    headers = {"x-routeguard-attempts": _pairs((a.route, a.outcome.value) for a in attempts)}
    if route is not None:
        headers["x-routeguard-route"] = route
    if plan.skipped:
        headers["x-routeguard-skipped"] = _pairs(plan.skipped.items())
    if plan.panic:
        headers["x-routeguard-panic"] = "true"
    return headers


def _pairs(items: Any) -> str:
    """`a=b; c=d`, safe for a header (no `;`, no control or non-ASCII characters)."""
    return "; ".join(f"{_plain(k)}={_plain(v)}" for k, v in items)


def _plain(text: str) -> str:
    return "".join(c if " " <= c <= "~" and c != ";" else "?" for c in str(text))


def _routeguard_field(route: str | None, attempts: list[Attempted], plan: Plan) -> dict[str, Any]:
    return {
        "route": route,
        "attempts": [
            {
                "route": a.route,
                "outcome": a.outcome.value,
                "latency_s": round(a.latency_s, 4),
                "ttft_s": None if a.ttft_s is None else round(a.ttft_s, 4),
                "status": a.upstream_status,
                "detail": a.classified.detail or None,
            }
            for a in attempts
        ],
        "skipped": plan.skipped,
        "panic": plan.panic,
    }


def _all_failed(attempts: list[Attempted], plan: Plan) -> ProxyError:
    """The caller's error once no route answered: 429 when all were rate-limited."""
    extra = _routeguard_field(None, attempts, plan)
    headers = tuple(_headers(None, attempts, plan).items())
    last = attempts[-1]
    if last.outcome is Outcome.CLIENT_ERROR:
        detail = last.classified.detail or f"HTTP {last.upstream_status}"
        return ProxyError(
            400, f"{last.route} refused the request: {detail}", headers=headers, extra=extra
        )
    if all(a.outcome is Outcome.RATE_LIMITED for a in attempts):
        hints = [a.classified.retry_after_s for a in attempts if a.classified.retry_after_s]
        retry = (("retry-after", str(max(1, math.ceil(min(hints))))),) if hints else ()
        return ProxyError(
            429,
            "every route of this model is rate-limited; retry after the hint",
            type="rate_limit_error",
            code="rate_limited",
            headers=headers + retry,
            extra=extra,
        )
    tried = ", ".join(f"{a.route}: {a.outcome.value}" for a in attempts)
    return ProxyError(
        502,
        f"no route answered ({tried})",
        type="upstream_error",
        code="all_routes_failed",
        headers=headers,
        extra=extra,
    )
