"""One HTTP request to a simulated provider: parse, decide, count, then answer on the socket.

Everything decided here comes from pure functions (the wire flavour, decide.py,
script.py); this module only reads the request and plays the answer's steps.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aiohttp import web

from routeguard.sim.base import Call, CallContext, Kind, Reply, Route, Served
from routeguard.sim.decide import Facts, Verdict, decide
from routeguard.sim.script import Cut, KeepAlive, Pause, Step, Write, body_steps, stream_steps
from routeguard.sim.wire_common import html_502, json_reply

if TYPE_CHECKING:
    from routeguard.sim.server import SimProvider

NEVER_ENDING_CAP_S = 3600.0
"""A never-ending stream is cut after this long even if the client never leaves."""


@dataclass(frozen=True)
class Parsed:
    """A request read and understood, before any fault is applied."""

    facts: Facts
    call: Call | None = None  # generation requests that parsed
    problem: Reply | None = None  # the 400/404 a bad request gets
    listing: Reply | None = None  # the model list (models requests)


async def handle(p: SimProvider, request: web.BaseRequest) -> web.StreamResponse:
    """Answer one request to provider `p`."""
    now = p.clock()
    route = p.wire.route(request.method, request.path, request.query, p.vendor)
    if route is None:
        p.stats.add(Kind.OTHER, "", Served.NOT_FOUND)
        message = f"Invalid URL ({request.method} {request.path})"
        return _response(json_reply(404, {"error": {"message": message, "type": "not_found"}}), {})
    parsed = await _parse(p, request, route, now)
    model = parsed.facts.model
    verdict = decide(p.faults, parsed.facts, p.flavour, p.rng, model_faults=p.model_faults(model))
    p.stats.add(parsed.facts.kind, model, verdict.served)
    limits = p.window.note(now, parsed.call.prompt_tokens if parsed.call else 0)
    headers = p.wire.headers(p.vendor, f"req_{secrets.token_hex(12)}", limits)
    if verdict.delay_s > 0:
        await asyncio.sleep(verdict.delay_s)
    if verdict.is_error:
        return _response(_error_reply(p, parsed, verdict, now), headers)
    if parsed.call is None:
        listing = parsed.listing or json_reply(200, {})
        steps, length = body_steps(verdict, listing.body)
        return await _play(request, headers, listing.content_type, steps, length)
    return await _generate(
        p, request, replace(parsed.call, huge_bytes=verdict.huge_bytes), verdict, headers
    )


async def _parse(p: SimProvider, request: web.BaseRequest, route: Route, now: float) -> Parsed:
    wire = p.wire
    authorised = wire.authorised(request.headers, request.query, p.api_key, route, p.vendor)
    if route.kind is Kind.MODELS:
        return _listing(p, request, route, authorised)
    try:
        body: object = json.loads(await request.read())
    except ValueError:
        facts = Facts(route.kind, route.model, authorised, Served.BAD_REQUEST)
        return Parsed(facts, problem=wire.bad_json(p.vendor))
    ctx = CallContext(p.vendor, secrets.token_hex(12), now, request.headers)
    result = wire.parse(route, body, ctx)
    if isinstance(result, Reply):
        served = Served.NOT_FOUND if result.status == 404 else Served.BAD_REQUEST
        kind, model = _claimed(route, body)
        return Parsed(Facts(kind, model, authorised, served), problem=result)
    if result.model not in p.models:
        facts = Facts(result.kind, result.model, authorised, Served.NOT_FOUND)
        return Parsed(facts, problem=wire.not_found(p.vendor, result.model))
    inband = result.stream or (
        p.model_faults(result.model).error_event_in_stream
        and wire.inband_error(result, p.vendor, 500) is not None
    )
    return Parsed(Facts(result.kind, result.model, authorised, inband_error=inband), call=result)


def _listing(p: SimProvider, request: web.BaseRequest, route: Route, authorised: bool) -> Parsed:
    needs_key = not p.wire.authorised({}, {}, p.api_key, route, p.vendor)
    listing = p.wire.models_reply(p.models, request.query, p.vendor)
    if listing.status >= 400:  # a bad page size or token
        facts = Facts(route.kind, "", authorised, Served.BAD_REQUEST, needs_key=needs_key)
        return Parsed(facts, problem=listing)
    return Parsed(Facts(route.kind, "", authorised, needs_key=needs_key), listing=listing)


def _claimed(route: Route, body: object) -> tuple[Kind, str]:
    """Kind and model a rejected request asked for, as far as its body says."""
    if not isinstance(body, dict):
        return route.kind, route.model
    model = body.get("model")
    kind = Kind.STREAM if body.get("stream") is True else route.kind
    return kind, model if isinstance(model, str) and not route.model else route.model


def _error_reply(p: SimProvider, parsed: Parsed, verdict: Verdict, now: float) -> Reply:
    wire, vendor, served = p.wire, p.vendor, verdict.served
    if served in (Served.AUTH_ERROR, Served.KEY_REVOKED):
        return wire.auth_error(vendor)
    if served is Served.HTML_502:
        return html_502()
    if served is Served.QUOTA_EXHAUSTED:
        return wire.quota_error(vendor, verdict.quota_status)
    if served is Served.RATE_LIMITED:
        return wire.rate_limited(vendor, verdict.retry_after_s, now)
    if served in (Served.BAD_REQUEST, Served.NOT_FOUND):
        return parsed.problem or wire.bad_json(vendor)
    if served is Served.MODEL_DOWN and verdict.status == 404:
        return wire.not_found(vendor, parsed.facts.model)
    return wire.server_error(vendor, verdict.status)


async def _generate(
    p: SimProvider, request: web.BaseRequest, call: Call, verdict: Verdict, headers: dict[str, str]
) -> web.StreamResponse:
    wire, vendor = p.wire, p.vendor
    status = p.error_status(call.model)
    waiting = _still_never_ending(p, call.model)
    if call.stream:
        plan = wire.stream(call, vendor)
        error_frame = wire.error_frame(call, vendor, status)
        steps = stream_steps(verdict, plan, error_frame, wire.keepalive(vendor))
        headers = {**headers, "cache-control": "no-cache"}
        return await _play(request, headers, plan.content_type, steps, None, waiting)
    inband = wire.inband_error(call, vendor, status) if verdict.error_event else None
    body = inband if inband is not None else wire.completion(call, vendor)
    body_plan, length = body_steps(verdict, body)
    return await _play(request, headers, "application/json", body_plan, length, waiting)


def _still_never_ending(p: SimProvider, model: str) -> Callable[[], bool]:
    return lambda: p.model_faults(model).never_ending_stream


def _response(reply: Reply, headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=reply.status,
        body=reply.body,
        headers={**headers, **reply.headers},
        content_type=reply.content_type,
    )


async def _play(
    request: web.BaseRequest,
    headers: dict[str, str],
    content_type: str,
    steps: list[Step],
    length: int | None,
    waiting: Callable[[], bool] = lambda: False,
) -> web.StreamResponse:
    """Send a 2xx answer step by step; stop quietly when the client has gone."""
    response = web.StreamResponse(status=200, headers=headers)
    response.content_type = content_type
    if length is not None:
        response.content_length = length
    await response.prepare(request)
    for step in steps:
        if not await _step(request, response, step, waiting):
            break
    return response


async def _step(
    request: web.BaseRequest, response: web.StreamResponse, step: Step, waiting: Callable[[], bool]
) -> bool:
    """Play one step; False when the answer must stop here."""
    if isinstance(step, Write):
        return await _write(response, step.data)
    if isinstance(step, Pause):
        await asyncio.sleep(step.seconds)
        return True
    if isinstance(step, KeepAlive):
        return await _keep_alive(request, response, step, waiting)
    if isinstance(step, Cut):
        _cut(request)
    return False


async def _write(response: web.StreamResponse, data: bytes) -> bool:
    try:
        await response.write(data)
    except ConnectionResetError:  # the client went away
        return False
    return True


def _cut(request: web.BaseRequest) -> None:
    """Close the connection after what was written so far (no terminating chunk)."""
    if request.transport is not None:
        request.transport.close()


async def _keep_alive(
    request: web.BaseRequest,
    response: web.StreamResponse,
    step: KeepAlive,
    waiting: Callable[[], bool],
) -> bool:
    """Keep-alives for `step.seconds`, or (forever) while the fault lasts, up to the cap."""
    loop = asyncio.get_running_loop()
    forever = step.seconds is None
    end = loop.time() + (NEVER_ENDING_CAP_S if step.seconds is None else step.seconds)
    while (left := end - loop.time()) > 0:
        if forever and not waiting():
            return True  # the fault was lifted: answer now
        if not await _write(response, step.frame):
            return False
        await asyncio.sleep(min(step.every_s, left))
    if forever:
        _cut(request)
        return False
    return True
