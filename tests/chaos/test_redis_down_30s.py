"""Redis down for 30 s under load: workers route on, the fleet comes back whole.

A daemon probes the simulator; two workers (HealthClients) call the simulated
providers in a loop and report every outcome. Redis is SIGKILLed for 30 s; while
it is gone, the provider the workers prefer goes hard down, and each worker's
local breaker must stop offering it. Redis comes back empty (no persistence):
the daemon's probes rebuild the route states, the workers leave fail-static and
their views match Redis, the stream holds every transition once, and no route
is left wedged once the provider heals.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from conftest import eventually
from e2e.daemon_helpers import catalog_from, running_daemon
from ha.topology import RedisProcess
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, BreakerStore, Keys
from routeguard.client import HealthClient
from routeguard.config import Catalog
from routeguard.daemon.app import Daemon
from routeguard.errors import StoreUnavailable
from routeguard.outcomes import Outcome
from routeguard.sim import SimCluster, SimProvider

from .conftest import url_of

pytestmark = pytest.mark.redis

KEY = "sk-sim-chaos-0001"
OUTAGE_S = 30.0
OPEN_S = 1.0
PREFERRED, FALLBACK = "p/x", "q/x"
CATALOG = """
providers:
  p: {{flavour: openai, base_url: "{p}", api_key_env: SIM_KEY}}
  q: {{flavour: openai, base_url: "{q}", api_key_env: SIM_KEY}}
models:
  m: [p/x, q/x]
probes: {{interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1.0}}
breaker: {{open_s: 1.0, open_max_s: 4}}
"""


@dataclass
class Worker:
    """One routing worker: a HealthClient and what its request loop saw."""

    health: HealthClient
    caller_exceptions: list[BaseException] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)


async def call_provider(http: httpx.AsyncClient, sim: SimCluster, route: str) -> Outcome:
    """One real completion call to the simulated provider behind `route`."""
    provider, model = route.split("/", 1)
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    try:
        response = await http.post(f"{sim[provider].base_url}/chat/completions", json=body)
    except httpx.TimeoutException:
        return Outcome.TIMEOUT
    except httpx.TransportError:  # refused, or a pooled connection the downed provider reset
        return Outcome.CONNECT_ERROR
    return Outcome.OK if response.status_code == 200 else Outcome.SERVER_ERROR


async def request_loop(worker: Worker, sim: SimCluster, http: httpx.AsyncClient) -> None:
    """Route, call, report, forever; anything the library raises is counted, not fatal."""
    while True:
        try:
            route = next(iter(worker.health.candidates("m")))
        except Exception as exc:  # the library must never raise here
            worker.caller_exceptions.append(exc)
            await asyncio.sleep(0.02)
            continue
        started = time.monotonic()
        outcome = await call_provider(http, sim, route)
        worker.calls[route] = worker.calls.get(route, 0) + 1
        try:
            worker.health.report(route, outcome, latency_s=time.monotonic() - started)
        except Exception as exc:
            worker.caller_exceptions.append(exc)
        await asyncio.sleep(0.02)  # the request rate of one worker, not a wait


@pytest.fixture
async def cluster() -> AsyncIterator[SimCluster]:
    providers = [SimProvider(n, "openai", ("x",), KEY, "openai") for n in ("p", "q")]
    async with SimCluster(providers, seed=3) as running:
        yield running


def chaos_catalog(sim: SimCluster) -> Catalog:
    return catalog_from(CATALOG.format(p=sim["p"].base_url, q=sim["q"].base_url))


async def views_match_redis(health: HealthClient, store: BreakerStore) -> bool:
    if health.degraded:
        return False
    try:
        statuses = await store.states()
    except StoreUnavailable:  # the checker's own pooled connection died with the old server
        return False
    return all(
        (health.view[s.route].state, health.view[s.route].version) == (s.state, s.version)
        for s in statuses
    )


async def every_view_matches_redis(workers: list[Worker], store: BreakerStore, what: str) -> None:
    for worker in workers:
        await eventually(
            lambda w=worker: views_match_redis(w.health, store), timeout_s=5, what=what
        )


async def wait_resynced(worker: Worker, store: BreakerStore, since: float) -> float:
    await eventually(
        lambda: views_match_redis(worker.health, store), timeout_s=10, what="the worker to resync"
    )
    return time.monotonic() - since


def version_gaps(versions_by_route: dict[str, list[int]]) -> dict[str, list[int]]:
    """Routes whose stream versions are not 1, 2, 3, … (a gap or a duplicate)."""
    return {
        route: versions
        for route, versions in versions_by_route.items()
        if versions != list(range(1, len(versions) + 1))
    }


async def test_redis_down_30s_under_load_loses_nothing_and_wedges_nothing(
    private_redis: RedisProcess,
    cluster: SimCluster,
    caplog: pytest.LogCaptureFixture,
    record_property,  # type: ignore[no-untyped-def]
) -> None:
    url, keys, catalog = url_of(private_redis), Keys("rgchaos-down"), chaos_catalog(cluster)
    routes = {r: s.breaker for r, s in catalog.routes.items()}
    check_store = BreakerStore(Redis.from_url(url, socket_timeout=2), routes, keys=keys)
    figures: dict[str, object] = {}
    async with (
        running_daemon(catalog, url, keys, env={"SIM_KEY": KEY}) as daemon,
        httpx.AsyncClient(timeout=1.0, headers={"authorization": f"Bearer {KEY}"}) as http,
    ):
        registries = [CollectorRegistry() for _ in range(2)]
        workers = [
            Worker(
                HealthClient.from_url(
                    url, config=catalog, key_prefix=keys.prefix, resync_s=1.0, registry=registry
                )
            )
            for registry in registries
        ]
        for worker in workers:
            await worker.health.start()
        loops = [asyncio.create_task(request_loop(w, cluster, http)) for w in workers]
        try:
            await _scenario(daemon, cluster, private_redis, workers, check_store, figures)
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            for worker in workers:
                await worker.health.close()
            await check_store.aclose()
    figures["degraded_episodes_per_worker"] = [
        r.get_sample_value("routeguard_client_degraded_episodes_total") for r in registries
    ]
    figures["caller_exceptions"] = sum(len(w.caller_exceptions) for w in workers)
    for name, value in figures.items():
        record_property(name, value)
    print("\nredis down 30 s: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    assert figures["caller_exceptions"] == 0, [w.caller_exceptions[:3] for w in workers]
    # Redis being away is a one-line warning per failed step, never a traceback.
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert tracebacks == [], tracebacks[:3]


async def _scenario(
    daemon: Daemon,
    cluster: SimCluster,
    redis: RedisProcess,
    workers: list[Worker],
    store: BreakerStore,
    figures: dict[str, object],
) -> None:
    assert daemon.store is not None
    # History before the outage, so the views hold versions Redis will forget.
    for route in (PREFERRED, FALLBACK):
        await daemon.store.force(route, "open", "chaos: history before the outage")
        await daemon.store.force(route, "auto", "chaos: history before the outage")
    await every_view_matches_redis(workers, store, "views before")
    for worker in workers:
        assert next(iter(worker.health.candidates("m"))) == PREFERRED

    redis.kill()
    killed = time.monotonic()
    for worker in workers:
        await eventually(
            lambda w=worker: w.health.degraded, timeout_s=5, what="the workers to degrade"
        )
    stale_at_kill = max(w.health.staleness_s() for w in workers)
    async with httpx.AsyncClient() as admin:
        (await admin.post(f"{cluster.admin_url}/providers/p/down")).raise_for_status()
    went_down = time.monotonic()
    skipped_after = []
    for worker in workers:
        await eventually(
            lambda w=worker: next(iter(w.health.candidates("m"))) == FALLBACK,
            timeout_s=5,
            what="the local breaker to stop offering the dead provider",
        )
        skipped_after.append(round(time.monotonic() - went_down, 3))
    calls_to_dead = {id(w): w.calls.get(PREFERRED, 0) for w in workers}
    await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed)))  # the outage lasts
    stale_at_end = min(w.health.staleness_s() for w in workers)
    # While Redis is gone the local breaker lets only its own trials through to the
    # dead route: one per open period (open_s, doubling), never the request stream.
    trials = [w.calls.get(PREFERRED, 0) - calls_to_dead[id(w)] for w in workers]
    for worker, tried in zip(workers, trials, strict=True):
        assert worker.health.degraded
        assert tried <= OUTAGE_S / OPEN_S, (tried, worker.calls)
    assert stale_at_end > stale_at_kill + OUTAGE_S - 5

    redis.start()
    redis.wait_ready()
    answered = time.monotonic()
    resync = sorted(await asyncio.gather(*(wait_resynced(w, store, answered) for w in workers)))
    await eventually(
        lambda: _is(store, PREFERRED, BreakerState.OPEN),
        timeout_s=10,
        what="the dead route to reopen",
    )
    reopened = time.monotonic() - answered
    await every_view_matches_redis(workers, store, "views after reopen")

    async with httpx.AsyncClient() as admin:
        (await admin.post(f"{cluster.admin_url}/providers/p/up")).raise_for_status()
    healed = time.monotonic()
    status = await store.state(PREFERRED)
    wedge_bound = max(0.0, (status.open_until_ms - status.now_ms) / 1000) + 3.0
    await eventually(
        lambda: _all_closed(store), timeout_s=wedge_bound, what="every route to close after healing"
    )
    closed_after = time.monotonic() - healed
    await every_view_matches_redis(workers, store, "views at the end")

    events = await store.events(count=10_000)
    versions: dict[str, list[int]] = {}
    for event in events:
        versions.setdefault(event.route, []).append(event.version)
    finals = {s.route: s.version for s in await store.states()}
    lost = version_gaps(versions)
    assert lost == {}, lost
    assert {r: v[-1] for r, v in versions.items()} == {r: v for r, v in finals.items() if v}
    figures |= {
        "degraded_workers_skip_dead_route_after_s": skipped_after,
        "dead_route_calls_per_worker_during_outage": trials,
        "staleness_at_end_of_outage_s": round(stale_at_end, 1),
        "resync_after_redis_returns_p50_s": round(statistics.median(resync), 3),
        "resync_after_redis_returns_max_s": round(resync[-1], 3),
        "dead_route_open_again_after_s": round(reopened, 3),
        "closed_after_heal_s": round(closed_after, 3),
        "wedge_bound_s": round(wedge_bound, 3),
        "transitions_after_restart": len(events),
        "transitions_lost": sum(len(v) for v in lost.values()),
        "wedged_routes": 0,
    }


async def _is(store: BreakerStore, route: str, state: BreakerState) -> bool:
    return (await store.state(route)).state == state


async def _all_closed(store: BreakerStore) -> bool:
    return all(s.state == BreakerState.CLOSED for s in await store.states())
