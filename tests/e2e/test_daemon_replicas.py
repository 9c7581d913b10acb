"""Two daemon replicas against one Redis: probes are shared, not doubled, and a
survivor takes over a dead replica's routes within one interval."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.daemon.app import Daemon, DaemonOptions
from routeguard.sim import SimProvider

from .daemon_helpers import catalog_from

pytestmark = pytest.mark.redis

KEY = "sk-sim-replicas-0001"
MODELS = tuple(f"model-{i}" for i in range(6))
INTERVAL_S = 0.5


def _catalog(sim: SimProvider):  # type: ignore[no-untyped-def]
    routes = "\n".join(f"  {m}: [sim/{m}]" for m in MODELS)
    return catalog_from(
        f"""
providers:
  sim: {{flavour: openai, base_url: "{sim.base_url}", api_key_env: SIM_KEY}}
probes: {{interval_s: {INTERVAL_S}, suspect_interval_s: 0.2, timeout_s: 1.0, tiers: [completion]}}
models:
{routes}
"""
    )


def _counts(sim: SimProvider) -> dict[str, int]:
    return {m: sim.stats.count(kind="completion", model=m) for m in MODELS}


async def test_two_replicas_probe_each_route_once_per_interval_and_survive_a_death(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with SimProvider("sim", "openai", MODELS, KEY) as sim:
        catalog = _catalog(sim)
        replicas = [
            Daemon(
                catalog,
                redis_url,
                DaemonOptions(http_port=0, key_prefix=keys.prefix, env={"SIM_KEY": KEY}),
            )
            for _ in range(2)
        ]
        for replica in replicas:
            await replica.start()
        try:
            await eventually(  # past the start-up round: each route has had its first probe
                lambda: min(_counts(sim).values()) >= 1, timeout_s=5, what="a first probe each"
            )
            before, start = _counts(sim), time.monotonic()
            await asyncio.sleep(10 * INTERVAL_S)  # the window whose probes are counted
            elapsed = time.monotonic() - start
            shared = {m: n - before[m] for m, n in _counts(sim).items()}
            intervals = elapsed / INTERVAL_S
            for model, probes in shared.items():
                # One replica alone would give ~10, both without leases ~20.
                assert intervals * 0.7 <= probes <= intervals * 1.3 + 1, (model, probes, intervals)

            await replicas[0].stop()  # one replica dies
            died = _counts(sim)

            async def every_route_probed_again() -> bool:
                now = _counts(sim)
                return all(now[m] > died[m] for m in MODELS)

            took = await eventually(
                every_route_probed_again, timeout_s=5, what="the survivor to take over"
            )
            assert took <= INTERVAL_S * 1.1 + 0.5, f"takeover took {took:.2f}s"
        finally:
            for replica in replicas:
                await replica.stop()
