"""Redis Sentinel: a daemon and a worker ride through a master crash and failover."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from conftest import eventually, eventually_sync
from e2e.daemon_helpers import catalog_from, running_daemon

from routeguard import HealthClient
from routeguard.breaker import BreakerState, BreakerStore, Keys, Transition
from routeguard.config.policies import BreakerSettings
from routeguard.sim import SimCluster, SimProvider

from .topology import ReplicatedPair, SentinelTopology

pytestmark = [pytest.mark.ha, pytest.mark.redis]

KEY = "sk-sim-ha-key-0001"
ROUTE = "oa/gpt-4o-mini"
CATALOG = f"""
providers:
  oa: {{flavour: openai, base_url: "{{base_url}}", api_key_env: SIM_KEY}}
models:
  mini: [{ROUTE}]
probes: {{interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1.0}}
breaker: {{open_s: 1.0, open_max_s: 4, consecutive_failures: 3}}
"""
DURABLE = "wait_replicas=1&wait_timeout_ms=500"


@pytest.fixture
async def provider() -> AsyncIterator[SimProvider]:
    async with SimCluster([SimProvider("oa", "openai", ("gpt-4o-mini",), KEY)], seed=7) as sims:
        yield sims["oa"]


def _route_events(events: list[Transition]) -> list[Transition]:
    return [e for e in events if e.route == ROUTE]


async def test_a_master_crash_keeps_the_route_history_and_workers_follow_the_new_master(
    sentinel_topology: SentinelTopology,
    provider: SimProvider,
    keys: Keys,
    record_property: pytest.RecordProperty,
) -> None:
    topology = sentinel_topology
    url = topology.url(DURABLE)
    catalog = catalog_from(CATALOG.replace("{base_url}", provider.base_url))
    worker = HealthClient.from_url(url, config=catalog, key_prefix=keys.prefix, resync_s=60)
    async with running_daemon(catalog, url, keys, env={"SIM_KEY": KEY}) as daemon:
        store = daemon.store
        assert store is not None
        await worker.start()
        try:
            await provider.down()
            await eventually(
                lambda: _worker_sees(worker, BreakerState.OPEN), timeout_s=15, what="open"
            )
            before = _route_events(await store.events(count=1000))
            _wait_replicated(topology, keys, before[-1])

            await provider.up()
            killed_at = time.monotonic()
            topology.master.kill()
            failover_s = await asyncio.to_thread(  # the condition blocks: off the event loop
                eventually_sync,
                lambda: topology.master_port() == topology.replica.port,
                timeout_s=30,
                what="the sentinels to promote the replica",
            )
            first_s = await _first_new_transition(store, before[-1].version, killed_at)
            await eventually(
                lambda: _worker_sees(worker, BreakerState.CLOSED), timeout_s=20, what="closed"
            )

            after = _route_events(await store.events(count=1000))
            status = await store.state(ROUTE)
        finally:
            await worker.close()
    assert [(e.event_id, e.version) for e in after[: len(before)]] == [
        (e.event_id, e.version) for e in before
    ], "every transition made before the crash is still in the stream"
    versions = [e.version for e in after]
    assert versions == list(range(1, len(after) + 1)), "versions go up by one, none twice"
    assert (status.state, status.version) == (BreakerState.CLOSED, versions[-1])
    assert worker.view.routes[ROUTE].version == status.version
    record_property("sentinel_failover_s", round(failover_s, 2))
    record_property("failover_to_first_transition_s", round(first_s, 2))
    print(
        f"\nSentinel failover (SIGKILL -> replica promoted): {failover_s:.2f} s; "
        f"SIGKILL -> first transition on the new master: {first_s:.2f} s"
    )


async def _worker_sees(worker: HealthClient, state: BreakerState) -> bool:
    return worker.view.routes[ROUTE].state == state


def _wait_replicated(topology: ReplicatedPair, keys: Keys, last: Transition) -> None:
    """Until the replica's stream holds `last` (the crash then tests failover, not luck)."""

    def has_it() -> bool:
        with topology.replica.client() as replica:
            newest = replica.xrevrange(keys.events, count=1)
        return bool(newest) and newest[0][0].decode() >= (last.event_id or "")

    eventually_sync(has_it, timeout_s=5, what="the replica to hold the last transition")


async def _first_new_transition(store: BreakerStore, last_version: int, since: float) -> float:
    """Seconds from `since` until the store shows the route's next version in the stream."""

    async def newer() -> bool:  # raises while the old master is gone: not there yet
        events = _route_events(await store.events(count=1000))
        return any(e.version == last_version + 1 for e in events)

    left_s = since + 30 - time.monotonic()
    await eventually(newer, timeout_s=left_s, what="a transition within 30 s of the failover")
    return time.monotonic() - since


async def test_with_wait_replicas_a_transition_returns_only_once_a_replica_holds_it(
    replicated_pair: ReplicatedPair, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    pair = replicated_pair
    url = f"redis://127.0.0.1:{pair.master.port}/0?wait_replicas=1&wait_timeout_ms=300"
    store = BreakerStore.from_url(url, {ROUTE: BreakerSettings()}, keys=keys)
    try:
        opened = await store.force(ROUTE, "open", "maintenance")
        with pair.replica.client() as replica:
            held = replica.hget(keys.state(ROUTE), "version")
        assert held == str(opened.version).encode(), "the replica had it when force() returned"

        assert pair.replica.proc is not None
        pair.replica.proc.send_signal(19)  # SIGSTOP: the replica stops acknowledging
        try:
            with caplog.at_level(logging.WARNING, logger="routeguard.breaker.store"):
                started = time.monotonic()
                closed = await store.force(ROUTE, "closed", "back")
                waited_s = time.monotonic() - started
        finally:
            pair.replica.proc.send_signal(18)  # SIGCONT
    finally:
        await store.aclose()
    assert closed.state == BreakerState.FORCED_CLOSED, "the transition stands on the master"
    assert waited_s >= 0.25, "the store waited for the replica up to wait_timeout_ms"
    assert "reached 0 of 1 replicas within 300 ms" in caplog.text


async def test_without_wait_replicas_the_store_does_not_wait_for_a_stopped_replica(
    replicated_pair: ReplicatedPair, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    pair = replicated_pair
    store = BreakerStore.from_url(
        f"redis://127.0.0.1:{pair.master.port}/0", {ROUTE: BreakerSettings()}, keys=keys
    )
    assert pair.replica.proc is not None
    pair.replica.proc.send_signal(19)
    try:
        with caplog.at_level(logging.WARNING, logger="routeguard.breaker.store"):
            await store.force(ROUTE, "open", "maintenance")
    finally:
        pair.replica.proc.send_signal(18)
        await store.aclose()
    assert "replicas within" not in caplog.text
