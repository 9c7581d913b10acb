"""Redis Cluster: every breaker script and pub/sub on a real three-master cluster."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from conftest import eventually
from e2e.daemon_helpers import catalog_from, running_daemon

from routeguard import HealthClient
from routeguard.breaker import BreakerState, BreakerStore, Keys, Reason
from routeguard.breaker.types import OutcomeBatch
from routeguard.config import Catalog
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome
from routeguard.redis_connect import connect_redis
from routeguard.sim import SimCluster, SimProvider

from .topology import ClusterTopology

pytestmark = [pytest.mark.ha, pytest.mark.redis]

ROUTE = "oa/gpt-4o-mini"
OTHER = "oa/gpt-4o"
KEY = "sk-sim-ha-key-0002"
ENV = {"SIM_KEY": KEY, "HOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
FAST = BreakerSettings(open_s=0.2, open_max_s=1, consecutive_failures=3, half_open_successes=1)


@pytest.fixture
async def store(cluster_topology: ClusterTopology, keys: Keys) -> AsyncIterator[BreakerStore]:
    routes = {ROUTE: FAST, OTHER: FAST}
    breaker = BreakerStore.from_url(cluster_topology.url(), routes, keys=keys)
    try:
        yield breaker
    finally:
        await breaker.aclose()


async def test_every_breaker_script_runs_on_a_cluster(store: BreakerStore) -> None:
    assert [s.state for s in await store.states()] == [BreakerState.CLOSED] * 2
    for _ in range(2):
        await store.record(ROUTE, Outcome.CONNECT_ERROR)
    opened = await store.record_batch(ROUTE, OutcomeBatch.of(Outcome.SERVER_ERROR))
    assert (opened.state, opened.reason) == (BreakerState.OPEN, Reason.CONSECUTIVE_FAILURES)

    moved = await _tick_until_half_open(store)
    assert [(t.route, t.to_state) for t in moved] == [(ROUTE, BreakerState.HALF_OPEN)]
    status, token = await store.acquire_trial_status(ROUTE)
    assert status.state == BreakerState.HALF_OPEN and token is not None
    assert await store.acquire_trial(ROUTE) is None, "one trial at a time"
    # A client error moves nothing but still hands the trial's lease back.
    ignored = await store.record(ROUTE, Outcome.CLIENT_ERROR, trial_token=token)
    assert ignored.state == BreakerState.HALF_OPEN
    token = await store.acquire_trial(ROUTE)
    assert token is not None, "a reported trial's lease is free again"
    closed = await store.record(ROUTE, Outcome.OK, trial_token=token)
    assert (closed.state, closed.reason) == (BreakerState.CLOSED, Reason.TRIAL_SUCCEEDED)

    forced = await store.force(OTHER, "open", "maintenance")
    assert forced.state == BreakerState.FORCED_OPEN
    assert (await store.state(OTHER)).state == BreakerState.FORCED_OPEN
    events = await store.events()
    assert [(e.route, e.version) for e in events] == [
        (ROUTE, 1),
        (ROUTE, 2),
        (ROUTE, 3),
        (OTHER, 1),
    ]
    later = await store.events(since=events[1].event_id)
    assert [e.version for e in later] == [3, 1]
    counts = await store.transition_counts()
    assert counts[ROUTE] == {
        ("closed", "open"): 1,
        ("open", "half_open"): 1,
        ("half_open", "closed"): 1,
    }
    assert counts[OTHER] == {("closed", "forced_open"): 1}


async def _tick_until_half_open(store: BreakerStore) -> list[object]:
    moved: list[object] = []

    async def ticked() -> bool:
        moved.extend(await store.tick())
        return bool(moved)

    # open_s is 0.2 s (plus jitter): within a few seconds at most
    await eventually(ticked, timeout_s=5, what="the open route to become half-open")
    return moved


async def test_a_subscriber_on_any_node_hears_a_transition(
    cluster_topology: ClusterTopology, store: BreakerStore, keys: Keys
) -> None:
    cluster = connect_redis(cluster_topology.url(), connect_timeout_s=2, timeout_s=5)
    try:
        subscribers = [
            cluster.pubsub(host="127.0.0.1", port=n.port) for n in cluster_topology.nodes
        ]
        for pubsub in subscribers:
            await pubsub.subscribe(keys.transitions_channel)
            assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"
        await store.force(ROUTE, "open", "game day")
        for pubsub in subscribers:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
            assert message is not None, "every node relays a cluster-wide PUBLISH"
            assert json.loads(message["data"])["to"] == "forced_open"
            await pubsub.aclose()
    finally:
        await cluster.aclose()


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP endpoint collecting the notifier's webhook bodies."""
    bodies: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        bodies.append(json.loads(await request.read()))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", bodies
    finally:
        await runner.cleanup()


def _catalog(base_url: str, hook_url: str) -> Catalog:
    return catalog_from(
        "providers:\n"
        f'  oa: {{flavour: openai, base_url: "{base_url}", api_key_env: SIM_KEY}}\n'
        f"models:\n  mini: [{ROUTE}]\n"
        "probes: {interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1.0}\n"
        "notify:\n  page_after_s: 0\n  group_window_s: 0\n"
        f'  channels:\n    hook: {{type: webhook, url: "{hook_url}", secret_env: HOOK_SECRET}}\n'
    )


async def test_a_daemon_on_a_cluster_opens_a_route_notifies_and_a_worker_hears_it_by_pubsub(
    cluster_topology: ClusterTopology, keys: Keys
) -> None:
    sim = SimProvider("oa", "openai", ("gpt-4o-mini",), KEY)
    async with SimCluster([sim], seed=5) as sims, webhook_receiver() as (hook_url, bodies):
        catalog = _catalog(sims["oa"].base_url, hook_url)
        url = cluster_topology.url()
        # resync only once a minute: within the test, only pub/sub can bring the news
        worker = HealthClient.from_url(url, config=catalog, key_prefix=keys.prefix, resync_s=60)
        async with running_daemon(catalog, url, keys, env=ENV):
            await worker.start()
            try:
                assert worker.view.routes[ROUTE].state == BreakerState.CLOSED
                await sims["oa"].down()

                async def worker_sees_open() -> bool:
                    return worker.view.routes[ROUTE].state == BreakerState.OPEN

                async def notified() -> bool:
                    return bool(bodies)

                await eventually(worker_sees_open, timeout_s=15, what="the worker to hear open")
                assert not worker.degraded
                await eventually(notified, timeout_s=15, what="the notifier's webhook")
            finally:
                await worker.close()
    assert ROUTE in json.dumps(bodies[0])
