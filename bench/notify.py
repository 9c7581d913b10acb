"""Notification latency: a route's transition to the signed webhook at a local receiver.

A daemon (in-process, real Redis, loopback only) probes one simulated provider
and runs the notifier with one `webhook` channel (`page_after_s: 0`). The bench
drives the route's real breaker: consecutive failures open it (a trigger), a
forced close ends the incident (a resolve), `auto` hands it back (no message).
For each transition that makes a message it takes the breaker's own transition
time (Redis TIME, `at_ms`) and the wall time the receiver got the request, after
checking its Standard Webhooks signature. Prints p50/p90/p99/max over the
transitions, and the number of series the daemon's /metrics exports for one
route's labels. Every key it writes carries its own prefix and is deleted after.

    .venv/bin/python bench/notify.py [--redis-url URL] [--transitions 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from aiohttp import web
from redis.asyncio import Redis

from routeguard.breaker import BreakerStore, ForceTarget, Keys
from routeguard.config import Catalog, parse_catalog
from routeguard.daemon.app import Daemon, DaemonOptions
from routeguard.notify.signing import secret_key, verify
from routeguard.outcomes import Outcome
from routeguard.routes import model_of, provider_of
from routeguard.sim import SimCluster, SimProvider

KEY = "sk-bench-notify-0001"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROUTE = "oa/gpt-4o-mini"
WAIT_S = 10.0
CATALOG = """
providers:
  oa: {{flavour: openai, base_url: "{base}", api_key_env: SIM_KEY}}
models:
  mini: [oa/gpt-4o-mini]
  big: [oa/gpt-4o]
probes: {{interval_s: 2, tiers: [liveness, completion, stream]}}
breaker: {{consecutive_failures: 2, open_s: 600, open_max_s: 600}}
notify:
  page_after_s: 0
  group_window_s: 0
  channels:
    hook: {{type: webhook, url: "{url}", secret_env: HOOK_SECRET}}
"""


class Receiver:
    """Verifies each webhook and queues (arrival wall time, body) for the bench."""

    def __init__(self) -> None:
        self.key = secret_key(SECRET, "HOOK_SECRET")
        self.arrivals: asyncio.Queue[tuple[float, dict[str, object]]] = asyncio.Queue()
        self.rejected = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        at_s = time.time()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not verify(self.key, headers, body, now_s=at_s):
            self.rejected += 1
            return web.Response(status=401)
        await self.arrivals.put((at_s, json.loads(body)))
        return web.Response(status=200)


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


async def one_transition(store: BreakerStore, receiver: Receiver, make: str) -> float:
    """Make one message-making transition; its latency in ms (transition -> receiver)."""
    if make == "open":
        for _ in range(2):
            status = await store.record(ROUTE, Outcome.CONNECT_ERROR)
    else:
        status = await store.force(ROUTE, ForceTarget.CLOSED, "bench")
    [transition] = [t for t in status.transitions if t.to_state.value in ("open", "forced_closed")]
    at_s, body = await asyncio.wait_for(receiver.arrivals.get(), WAIT_S)
    expected = "incident.triggered" if make == "open" else "incident.resolved"
    assert body["type"] == expected, body["type"]
    if make == "close":
        await store.force(ROUTE, ForceTarget.AUTO, "bench")
    return at_s * 1000 - transition.at_ms


async def series_per_route(daemon: Daemon) -> int:
    async with httpx.AsyncClient() as client:
        text = (await client.get(daemon.http_url + "/metrics")).text
    provider, model = provider_of(ROUTE), model_of(ROUTE)
    wanted = (f'provider="{provider}"', f'model="{model}"')
    return sum(
        1
        for line in text.splitlines()
        if not line.startswith("#") and all(label in line for label in wanted)
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(redis_url: str, transitions: int) -> None:
    keys = Keys(f"rgbench-notify-{uuid.uuid4().hex[:10]}")
    receiver = Receiver()
    sim = SimProvider("oa", "openai", ("gpt-4o-mini", "gpt-4o"), KEY, "openai")
    async with SimCluster([sim], seed=3) as cluster, receiving(receiver) as url:
        catalog: Catalog = parse_catalog(
            CATALOG.format(base=cluster["oa"].base_url, url=url), "bench-notify.yaml"
        )
        options = DaemonOptions(
            http_port=0, key_prefix=keys.prefix, env={"SIM_KEY": KEY, "HOOK_SECRET": SECRET}
        )
        daemon = Daemon(catalog, redis_url, options)
        await daemon.start()
        redis = Redis.from_url(redis_url)
        store = BreakerStore(redis, {r.id: r.breaker for r in catalog.routes.values()}, keys=keys)
        try:
            latencies = [
                await one_transition(store, receiver, "open" if i % 2 == 0 else "close")
                for i in range(transitions)
            ]
            await asyncio.sleep(2.5)  # one probe interval, so every probe series exists
            series = await series_per_route(daemon)
        finally:
            await daemon.stop()
            async for key in redis.scan_iter(match=f"{keys.tag}*", count=500):
                await redis.delete(key)
            await redis.aclose()
    report(latencies, series, receiver.rejected)


def report(latencies: list[float], series: int, rejected: int) -> None:
    print(f"transition -> signed webhook at a loopback receiver, {len(latencies)} transitions")
    print("  (breaker transition time, Redis TIME, to the receiver's wall clock; same host)")
    print(f"  p50  {percentile(latencies, 0.50):7.1f} ms")
    print(f"  p90  {percentile(latencies, 0.90):7.1f} ms")
    print(f"  p99  {percentile(latencies, 0.99):7.1f} ms")
    print(f"  max  {max(latencies):7.1f} ms   mean {statistics.fmean(latencies):.1f} ms")
    print(f"  signatures rejected by the receiver: {rejected}")
    print(f"series the daemon exports for one route ({ROUTE}): {series}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_url = os.environ.get("ROUTEGUARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parser.add_argument("--redis-url", default=default_url)
    parser.add_argument("--transitions", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300.0, help="stop after this many s")
    args = parser.parse_args()
    if args.transitions < 2:
        parser.error("--transitions must be at least 2")
    asyncio.run(asyncio.wait_for(measure(args.redis_url, args.transitions), args.timeout))


if __name__ == "__main__":
    main()
