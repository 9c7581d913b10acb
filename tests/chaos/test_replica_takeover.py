"""A daemon replica SIGKILLed while it holds probe leases: the survivor takes its routes.

Two `routeguard run` processes share one Redis and probe the simulator, each
route once per interval between them (docs/daemon.md, daemon/leases.py). One is
killed with SIGKILL, so it releases nothing: its leases lapse on their TTL
(`LEASE_SHARE` of the interval) and the survivor's next run of each job claims
it. Every route must be probed again (its last-probe record in Redis started
after the kill) within the lease TTL plus one interval (with its jitter).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

import httpx
import pytest
from conftest import eventually
from ha.topology import RedisProcess, free_port
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.daemon.leases import LEASE_SHARE
from routeguard.daemon.scheduler import JITTER_SHARE
from routeguard.sim import SimProvider

from .conftest import url_of

pytestmark = pytest.mark.redis

KEY = "sk-sim-takeover-0001"
MODELS = tuple(f"model-{i}" for i in range(6))
INTERVAL_S = 1.0
SLACK_S = 0.5  # a probe's own round trip and the event loop of a busy 2-core machine
TAKEOVER_BOUND_S = INTERVAL_S * (LEASE_SHARE + 1 + JITTER_SHARE) + SLACK_S
REPLICA_ID = re.compile(r"routeguard daemon (\w+):")


@dataclass
class Replica:
    """One `routeguard run` process and where its output goes."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log_file: IO[bytes]

    def replica_id(self) -> str | None:
        found = REPLICA_ID.search(self.log_path.read_text(errors="replace"))
        return found.group(1) if found else None

    def ready(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log_file.close()


def catalog_text(sim: SimProvider) -> str:
    routes = "\n".join(f"  {m}: [sim/{m}]" for m in MODELS)
    return f"""
providers:
  sim: {{flavour: openai, base_url: "{sim.base_url}", api_key_env: SIM_KEY}}
probes: {{interval_s: {INTERVAL_S}, suspect_interval_s: 0.5, timeout_s: 1.0, tiers: [completion]}}
models:
{routes}
"""


def start_replica(tmp_path: Path, name: str, catalog: Path, redis_url: str, prefix: str) -> Replica:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUARD_")}
    env |= {
        "ROUTEGUARD_REDIS_URL": redis_url,
        "ROUTEGUARD_KEY_PREFIX": prefix,
        "ROUTEGUARD_HTTP_ADDR": f"127.0.0.1:{port}",
        "ROUTEGUARD_CONFIG": str(catalog),
        "SIM_KEY": KEY,
    }
    log_path = tmp_path / f"{name}.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "routeguard.cli", "run"],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    return Replica(proc, port, log_path, log_file)


@pytest.fixture
def replicas(private_redis: RedisProcess) -> Iterator[list[Replica]]:
    """Filled by the test; each process in it is stopped by its handle (before the Redis)."""
    started: list[Replica] = []
    try:
        yield started
    finally:
        for replica in started:
            replica.stop()


async def lease_holders(redis: Redis, keys: Keys) -> dict[str, str]:
    """Probe job -> the replica id holding its lease now."""
    holders = {}
    for model in MODELS:
        holder = await redis.get(keys.probe_lease(f"sim/{model}|completion"))
        if holder is not None:
            holders[model] = holder.decode()
    return holders


async def probe_starts(redis: Redis, keys: Keys) -> dict[str, float]:
    """Route -> wall-clock start of its last probe, from the last-probe records."""
    raw = await redis.hgetall(keys.last_probes)
    starts = {}
    for field_name, value in raw.items():
        route, _, tier = field_name.decode().rpartition("|")
        at = json.loads(value)["at"]
        if tier == "completion" and at:
            starts[route] = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
    return starts


async def test_a_sigkilled_replica_holding_leases_is_replaced_within_lease_ttl_plus_one_interval(
    tmp_path: Path,
    private_redis: RedisProcess,
    replicas: list[Replica],
    record_property,  # type: ignore[no-untyped-def]
) -> None:
    url, keys = url_of(private_redis), Keys("rgchaos-takeover")
    redis = Redis.from_url(url, socket_timeout=2)
    async with SimProvider("sim", "openai", MODELS, KEY) as sim:
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(catalog_text(sim))
        for name in ("a", "b"):
            replicas.append(start_replica(tmp_path, name, catalog, url, keys.prefix))
        for replica in replicas:
            await eventually(
                lambda r=replica: asyncio.to_thread(r.ready),
                timeout_s=30,
                what="both replicas ready",
            )
        ids = {r.replica_id(): r for r in replicas}
        assert None not in ids and len(ids) == 2, ids

        async def both_hold_leases() -> bool:
            return set((await lease_holders(redis, keys)).values()) == set(ids)

        await eventually(both_hold_leases, timeout_s=10, what="both replicas to hold probe leases")
        held = await lease_holders(redis, keys)
        victim_id = max(ids, key=lambda i: sum(h == i for h in held.values()))
        victim_jobs = sorted(m for m, h in held.items() if h == victim_id)
        survivor_id = next(i for i in ids if i != victim_id)

        killed_wall = time.time()
        ids[victim_id].proc.send_signal(signal.SIGKILL)
        ids[victim_id].proc.wait(timeout=5)

        async def every_route_probed_since_the_kill() -> bool:
            starts = await probe_starts(redis, keys)
            return all(starts.get(f"sim/{m}", 0) > killed_wall for m in MODELS)

        seen_s = await eventually(
            every_route_probed_since_the_kill, timeout_s=10, what="the survivor to take over"
        )
        starts = await probe_starts(redis, keys)
        takeover_s = max(starts[f"sim/{m}"] for m in MODELS) - killed_wall
        victims_takeover_s = max(starts[f"sim/{m}"] for m in victim_jobs) - killed_wall

        async def survivor_holds_every_lease() -> bool:
            holders = await lease_holders(redis, keys)
            return len(holders) == len(MODELS) and set(holders.values()) == {survivor_id}

        await eventually(
            survivor_holds_every_lease, timeout_s=5, what="the survivor to hold every lease"
        )
        assert ids[survivor_id].proc.poll() is None, "the survivor must keep running"
        await redis.aclose()
    figures = {
        "victim_held_leases": len(victim_jobs),
        "takeover_s": round(takeover_s, 3),
        "takeover_of_victims_routes_s": round(victims_takeover_s, 3),
        "takeover_seen_by_poll_s": round(seen_s, 3),
        "bound_s": round(TAKEOVER_BOUND_S, 3),
    }
    for name, value in figures.items():
        record_property(name, value)
    print("\nreplica takeover: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    assert victims_takeover_s <= TAKEOVER_BOUND_S, figures
    assert takeover_s <= TAKEOVER_BOUND_S, figures
