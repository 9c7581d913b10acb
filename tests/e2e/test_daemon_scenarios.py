"""Daemon + simulator + real Redis: outages, recoveries and non-outages end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, Keys, Reason
from routeguard.config import Catalog
from routeguard.daemon.app import Daemon
from routeguard.sim import SimCluster, SimProvider

from .daemon_helpers import catalog_from, get_json, route_states, running_daemon

pytestmark = pytest.mark.redis

KEY = "sk-sim-e2e-key-0001"
ENV = {"SIM_KEY": KEY}
FAST = """
probes: {interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1.0}
breaker: {open_s: 1.0, open_max_s: 8}
"""


def sim_catalog(cluster: SimCluster, extra: str = FAST) -> Catalog:
    lines = ["providers:"]
    for sim in cluster.values():
        lines += [
            f"  {sim.name}:",
            f"    flavour: {sim.flavour}",
            f"    base_url: {sim.base_url}",
            "    api_key_env: SIM_KEY",
        ]
        if sim.vendor:
            lines.append(f"    vendor: {sim.vendor}")
    lines.append("models:")
    for sim in cluster.values():
        for model in sim.models:
            lines.append(f"  {sim.name}-{model}: [{sim.name}/{model}]")
    return catalog_from("\n".join(lines) + "\n" + extra)


@pytest.fixture
async def cluster() -> AsyncIterator[SimCluster]:
    providers = [
        SimProvider("oa", "openai", ("gpt-4o-mini", "gpt-4o"), KEY, "openai"),
        SimProvider("an", "anthropic", ("claude-haiku-4-5",), KEY, "anthropic"),
        SimProvider("ge", "gemini", ("gemini-2.0-flash",), KEY),
    ]
    async with SimCluster(providers, seed=11) as running:
        yield running


async def _daemon(cluster: SimCluster, redis_url: str, keys: Keys, extra: str = FAST):  # type: ignore[no-untyped-def]
    return running_daemon(sim_catalog(cluster, extra), redis_url, keys, env=ENV)


def _state_is(daemon: Daemon, route: str, *wanted: BreakerState):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return (await route_states(daemon))[route] in wanted

    return check


async def test_a_hard_down_provider_opens_its_routes_and_recovers_through_probes_only(
    cluster: SimCluster, redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with await _daemon(cluster, redis_url, keys) as daemon:
        await eventually(
            _state_is(daemon, "oa/gpt-4o", BreakerState.CLOSED), timeout_s=5, what="start"
        )
        await cluster["oa"].down()
        for route in ("oa/gpt-4o-mini", "oa/gpt-4o"):
            await eventually(
                _state_is(daemon, route, BreakerState.OPEN), timeout_s=10, what=f"{route} open"
            )
        states = await route_states(daemon)
        assert states["an/claude-haiku-4-5"] == BreakerState.CLOSED
        assert states["ge/gemini-2.0-flash"] == BreakerState.CLOSED

        await cluster["oa"].up()
        for route in ("oa/gpt-4o-mini", "oa/gpt-4o"):
            await eventually(
                _state_is(daemon, route, BreakerState.CLOSED), timeout_s=20, what=f"{route} closed"
            )
        assert daemon.store is not None
        moves = [
            (e.from_state, e.to_state)
            for e in await daemon.store.events(count=1000)
            if e.route == "oa/gpt-4o"
        ]
        assert moves[0] == (BreakerState.CLOSED, BreakerState.OPEN)
        assert moves[-2:] == [
            (BreakerState.OPEN, BreakerState.HALF_OPEN),
            (BreakerState.HALF_OPEN, BreakerState.CLOSED),
        ]
        last = [e for e in await daemon.store.events(count=1000) if e.route == "oa/gpt-4o"][-1]
        assert last.reason == Reason.TRIAL_SUCCEEDED


async def test_a_429_storm_holds_the_route_open_until_retry_after_and_is_not_downtime(
    cluster: SimCluster, redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with await _daemon(cluster, redis_url, keys) as daemon:
        await cluster["an"].set_faults({"rate_limit": 1.0, "retry_after_s": 3})
        route = "an/claude-haiku-4-5"
        await eventually(
            _state_is(daemon, route, BreakerState.OPEN), timeout_s=10, what="rate-limited open"
        )
        assert daemon.store is not None
        status = await daemon.store.state(route)
        assert status.reason == Reason.RATE_LIMITED
        assert 2500 <= status.open_until_ms - status.since_ms <= 3500
        assert status.window.failures == 0, "a 429 is capacity, not a failure"
        await cluster["an"].set_faults({})
        await eventually(
            _state_is(daemon, route, BreakerState.CLOSED), timeout_s=15, what="closed again"
        )
        providers = await get_json(daemon, "/v1/providers")
        [an] = [p for p in providers["providers"] if p["provider"] == "an"]  # type: ignore[index]
        assert an["probes"]["1h"]["availability"] == 1.0, "429s are excluded from availability"


async def test_a_revoked_key_is_an_auth_error_not_an_outage(
    cluster: SimCluster, redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with await _daemon(cluster, redis_url, keys) as daemon:
        await cluster["ge"].set_faults({"key_revoked": True})
        route = "ge/gemini-2.0-flash"
        await eventually(
            _state_is(daemon, route, BreakerState.OPEN), timeout_s=10, what="auth open"
        )
        assert daemon.store is not None
        status = await daemon.store.state(route)
        assert (status.reason, status.open_until_ms) == (Reason.AUTH_ERROR, 0)
        assert status.window.failures == 0
        providers = await get_json(daemon, "/v1/providers")
        [ge] = [p for p in providers["providers"] if p["provider"] == "ge"]  # type: ignore[index]
        assert ge["probes"]["1h"]["availability"] in (None, 1.0)
        uptime = ge["uptime"]["1h"]
        assert uptime["excluded_s"]["auth_quota"] > 0 and uptime["down_s"] == 0, uptime
        await cluster["ge"].set_faults({})
        await eventually(
            _state_is(daemon, route, BreakerState.CLOSED), timeout_s=10, what="closed on success"
        )


async def test_five_percent_random_errors_open_nothing(
    cluster: SimCluster, redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    busy = "probes: {interval_s: 0.1, suspect_interval_s: 0.1, timeout_s: 1.0}\nbreaker: {open_s: 1.0}\n"
    async with await _daemon(cluster, redis_url, keys, busy) as daemon:
        for sim in cluster.values():
            await sim.set_faults({"error_rate": 0.05})

        async def enough_probes() -> bool:
            return sum(s.stats.total for s in cluster.values()) >= 400

        await eventually(enough_probes, timeout_s=30, what="400 probes")
        assert set((await route_states(daemon)).values()) == {BreakerState.CLOSED}
        errors = sum(s.stats.count(served="server_error") for s in cluster.values())
        assert errors > 0, "the fault was injected"


async def test_one_model_down_opens_only_that_route(
    cluster: SimCluster, redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with await _daemon(cluster, redis_url, keys) as daemon:
        await cluster["oa"].set_faults({"model_down": ["gpt-4o"]})
        await eventually(
            _state_is(daemon, "oa/gpt-4o", BreakerState.OPEN), timeout_s=10, what="gpt-4o open"
        )
        await eventually(
            _state_is(daemon, "oa/gpt-4o", BreakerState.OPEN), timeout_s=1, what="still open"
        )
        states = await route_states(daemon)
        assert states["oa/gpt-4o-mini"] == BreakerState.CLOSED
        assert {s for r, s in states.items() if r != "oa/gpt-4o"} == {BreakerState.CLOSED}
