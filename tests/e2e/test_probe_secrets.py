"""The API key a probe sent never comes back out, whatever shape a provider echoes it in.

A loopback provider echoes the key in its error bodies (plain, URL-encoded,
JSON-escaped) and in a response header; afterwards no breaker event, Redis
hash, HTTP answer or span attribute of the daemon contains any form of it.
"""

from __future__ import annotations

import itertools
import json
from urllib.parse import quote, quote_plus

import httpx
import pytest
from aiohttp import web
from conftest import eventually
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis

from routeguard.breaker import Keys

from .daemon_helpers import catalog_from, running_daemon
from .loopback import Loopback, loopback_provider

pytestmark = pytest.mark.redis

KEY = 'my-weird key/123+"x'
FORMS = {KEY, quote(KEY, safe=""), quote_plus(KEY), json.dumps(KEY)[1:-1], "my-weird"}
CATALOG = """
providers:
  echo: {flavour: openai, base_url: "BASE", api_key_env: ECHO_KEY}
models:
  m: [echo/model-a]
probes: {interval_s: 0.2, suspect_interval_s: 0.2, timeout_s: 1, tiers: [liveness, completion, stream]}
"""


def _echoing_handler() -> web.RequestHandler:  # type: ignore[name-defined]
    shapes = itertools.cycle(range(4))

    async def handler(request: web.Request) -> web.Response:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        echo = {"x-echo-key": quote(sent, safe="")}
        if request.path.endswith("/models"):
            message = f"Incorrect API key provided: {sent}"
            body = {"error": {"message": message, "type": "invalid_request_error"}}
            return web.json_response(body, status=401, headers=echo)
        shape = next(shapes)
        if shape == 0:
            return web.Response(status=500, text=f"upstream rejected ?key={quote_plus(sent)}")
        if shape == 1:
            text = json.dumps({"error": {"message": f"bad key {sent}", "type": sent}})
            return web.Response(status=400, text=text, content_type="application/json")
        if shape == 2:
            return web.Response(status=200, text=f"not json {sent}", headers=echo)
        body = {"error": {"message": f"Incorrect API key provided: {sent}", "code": "x"}}
        return web.json_response(body, status=401, headers=echo)

    return handler


async def _everything_stored(redis: Redis, keys: Keys) -> str:
    out = []
    async for key in redis.scan_iter(match=f"{keys.tag}*"):
        kind = (await redis.type(key)).decode()
        if kind == "hash":
            out.append(repr(await redis.hgetall(key)))
        elif kind == "stream":
            out.append(repr(await redis.xrange(key)))
        elif kind == "string":
            out.append(repr(await redis.get(key)))
        elif kind == "zset":
            out.append(repr(await redis.zrange(key, 0, -1)))
    return "\n".join(out)


def _span_text(exporter: InMemorySpanExporter) -> str:
    parts = []
    for span in exporter.get_finished_spans():
        parts.append(repr(dict(span.attributes or {})))
        parts.append(span.status.description or "")
        parts.extend(repr(dict(e.attributes or {})) for e in span.events)
    return "\n".join(parts)


async def test_a_key_echoed_back_in_any_shape_appears_nowhere(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    exporter = InMemorySpanExporter()
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(exporter))
    async with loopback_provider(_echoing_handler()) as provider:
        catalog = catalog_from(CATALOG.replace("BASE", provider.base_url))
        options = {"env": {"ECHO_KEY": KEY}, "tracer": tracing.get_tracer("test")}
        async with running_daemon(catalog, redis_url, keys, **options) as daemon:

            async def every_shape_served() -> bool:
                return _served(provider) >= 10

            await eventually(every_shape_served, timeout_s=15, what="every echo shape served")
            async with httpx.AsyncClient() as client:
                answers = [
                    (await client.get(daemon.http_url + path)).text
                    for path in ("/v1/routes", "/v1/events", "/v1/providers", "/metrics")
                ]
        stored = await _everything_stored(redis_client, keys)
    tracing.shutdown()
    spans = _span_text(exporter)
    everything = "\n".join([stored, spans, *answers])
    assert "Incorrect API key provided: ***" in everything, "the echoed details were kept"
    for form in FORMS:
        assert form not in everything, form


def _served(provider: Loopback) -> int:
    return provider.count("/chat/completions")
